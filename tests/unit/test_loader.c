/* Loaders: a synthesized ELF and Image, and corrupt variants of them. */
#include <elf.h>
#include <stdint.h>
#include <unistd.h>

#include "machine/loader.h"
#include "t.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (16ull << 20)

/* A minimal valid ELF: header, one PT_LOAD (16 code bytes + 16 bss bytes
 * at 0x80001000), a .symtab with tohost/fromhost, .strtab, .shstrtab. */
struct img {
    uint8_t b[4096];
    size_t len;
};

enum { OFF_PH = 64, OFF_DATA = 0x100, OFF_SYM = 0x200, OFF_STR = 0x300, OFF_SHSTR = 0x340,
       OFF_SH = 0x400 };

static void make_elf(struct img *im)
{
    memset(im, 0, sizeof *im);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)im->b;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_EXEC;
    eh->e_machine = 243;
    eh->e_version = EV_CURRENT;
    eh->e_entry = 0x80001000;
    eh->e_phoff = OFF_PH;
    eh->e_shoff = OFF_SH;
    eh->e_ehsize = sizeof *eh;
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 1;
    eh->e_shentsize = sizeof(Elf64_Shdr);
    eh->e_shnum = 4;
    eh->e_shstrndx = 3;

    Elf64_Phdr *ph = (Elf64_Phdr *)(im->b + OFF_PH);
    ph->p_type = PT_LOAD;
    ph->p_flags = PF_R | PF_X;
    ph->p_offset = OFF_DATA;
    ph->p_vaddr = 0x80001000;
    ph->p_paddr = 0x80001000;
    ph->p_filesz = 16;
    ph->p_memsz = 32;
    for (int i = 0; i < 16; i++)
        im->b[OFF_DATA + i] = (uint8_t)(0xa0 + i);

    const char strs[] = "\0tohost\0fromhost\0";  /* 1: tohost, 8: fromhost */
    memcpy(im->b + OFF_STR, strs, sizeof strs);
    Elf64_Sym *sym = (Elf64_Sym *)(im->b + OFF_SYM);
    sym[1].st_name = 1;
    sym[1].st_value = 0x80001008;
    sym[1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT);
    sym[2].st_name = 8;
    sym[2].st_value = 0x80001010;
    sym[2].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT);
    const char shs[] = "\0.symtab\0.strtab\0.shstrtab\0";
    memcpy(im->b + OFF_SHSTR, shs, sizeof shs);

    Elf64_Shdr *sh = (Elf64_Shdr *)(im->b + OFF_SH);
    sh[1].sh_name = 1;
    sh[1].sh_type = SHT_SYMTAB;
    sh[1].sh_offset = OFF_SYM;
    sh[1].sh_size = 3 * sizeof(Elf64_Sym);
    sh[1].sh_link = 2;
    sh[1].sh_entsize = sizeof(Elf64_Sym);
    sh[2].sh_name = 9;
    sh[2].sh_type = SHT_STRTAB;
    sh[2].sh_offset = OFF_STR;
    sh[2].sh_size = sizeof strs;
    sh[3].sh_name = 17;
    sh[3].sh_type = SHT_STRTAB;
    sh[3].sh_offset = OFF_SHSTR;
    sh[3].sh_size = sizeof shs;
    im->len = OFF_SH + 4 * sizeof(Elf64_Shdr);
}

static char tmpl[64];

static const char *write_tmp(const void *buf, size_t len)
{
    strcpy(tmpl, "/tmp/disco-test-loader.XXXXXX");
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return NULL;
    if (write(fd, buf, len) != (ssize_t)len) {
        close(fd);
        return NULL;
    }
    close(fd);
    return tmpl;
}

static struct pmap *new_ram(void)
{
    struct disco_err err;
    return pmap_new(RAM_BASE, RAM_SIZE, &err);
}

/* Load `im` as a bare-metal ELF; return the rc, error text in err. */
static int try_elf(const struct img *im, struct loaded_elf *le, struct disco_err *err)
{
    struct pmap *pm = new_ram();
    const char *path = write_tmp(im->b, im->len);
    CHECK(path != NULL);
    err_clear(err);
    int rc = loader_load_elf(pm, path, le, err);
    if (rc < 0) {
        CHECK(err->msg[0] != '\0');
        CHECK(strstr(err->msg, path) != NULL);   /* errors name the file */
    }
    unlink(path);
    pmap_free(pm);
    return rc;
}

static void elf_loads_segment_and_finds_tohost(void)
{
    struct img im;
    make_elf(&im);
    struct pmap *pm = new_ram();
    /* Dirty the bss first: the loader must zero it. */
    uint8_t junk[32];
    memset(junk, 0x55, sizeof junk);
    pmap_write(pm, 0x80001000, junk, sizeof junk);
    const char *path = write_tmp(im.b, im.len);
    struct loaded_elf le;
    struct disco_err err;
    err_clear(&err);
    CHECK_EQ(loader_load_elf(pm, path, &le, &err), 0);
    CHECK_EQ(le.entry, 0x80001000);
    CHECK(le.has_tohost);
    CHECK_EQ(le.tohost, 0x80001008);
    CHECK(le.has_fromhost);
    CHECK_EQ(le.fromhost, 0x80001010);
    CHECK_EQ(le.lo, 0x80001000);
    CHECK_EQ(le.hi, 0x80001020);
    uint8_t got[32];
    CHECK_EQ(pmap_read(pm, 0x80001000, got, sizeof got), 0);
    for (int i = 0; i < 16; i++)
        CHECK_EQ(got[i], 0xa0 + i);
    for (int i = 16; i < 32; i++)
        CHECK_EQ(got[i], 0);
    CHECK(loader_is_elf(path));
    unlink(path);
    pmap_free(pm);
}

static void elf_truncated_header(void)
{
    struct img im;
    make_elf(&im);
    im.len = 20;
    struct loaded_elf le;
    struct disco_err err;
    CHECK(try_elf(&im, &le, &err) < 0);
    CHECK(strstr(err.msg, "truncated") != NULL);
}

static void elf_bad_magic(void)
{
    struct img im;
    make_elf(&im);
    im.b[1] = 'X';
    struct loaded_elf le;
    struct disco_err err;
    CHECK(try_elf(&im, &le, &err) < 0);
    CHECK(strstr(err.msg, "not an ELF") != NULL);
}

static void elf_wrong_machine(void)
{
    struct img im;
    make_elf(&im);
    ((Elf64_Ehdr *)im.b)->e_machine = EM_X86_64;
    struct loaded_elf le;
    struct disco_err err;
    CHECK(try_elf(&im, &le, &err) < 0);
    CHECK(strstr(err.msg, "RISC-V") != NULL);
    make_elf(&im);
    im.b[EI_CLASS] = ELFCLASS32;
    CHECK(try_elf(&im, &le, &err) < 0);
    CHECK(strstr(err.msg, "64-bit") != NULL);
}

static void elf_segment_outside_ram(void)
{
    struct img im;
    make_elf(&im);
    Elf64_Phdr *ph = (Elf64_Phdr *)(im.b + OFF_PH);
    ph->p_paddr = 0x10000000;   /* UART, not RAM */
    struct loaded_elf le;
    struct disco_err err;
    CHECK(try_elf(&im, &le, &err) < 0);
    CHECK(strstr(err.msg, "does not fit in guest RAM") != NULL);
    /* straddling the end of RAM */
    ph->p_paddr = RAM_BASE + RAM_SIZE - 8;
    CHECK(try_elf(&im, &le, &err) < 0);
    /* wrapping around */
    ph->p_paddr = UINT64_MAX - 8;
    CHECK(try_elf(&im, &le, &err) < 0);
}

static void elf_phoff_beyond_file(void)
{
    struct img im;
    make_elf(&im);
    ((Elf64_Ehdr *)im.b)->e_phoff = 1ull << 40;
    struct loaded_elf le;
    struct disco_err err;
    CHECK(try_elf(&im, &le, &err) < 0);
    CHECK(strstr(err.msg, "program headers") != NULL);
    ((Elf64_Ehdr *)im.b)->e_phoff = UINT64_MAX - 10;   /* overflowing */
    CHECK(try_elf(&im, &le, &err) < 0);
    make_elf(&im);
    ((Elf64_Ehdr *)im.b)->e_phnum = 0;
    CHECK(try_elf(&im, &le, &err) < 0);
}

static void elf_huge_filesz(void)
{
    struct img im;
    make_elf(&im);
    Elf64_Phdr *ph = (Elf64_Phdr *)(im.b + OFF_PH);
    ph->p_filesz = 1ull << 62;
    ph->p_memsz = 1ull << 62;
    struct loaded_elf le;
    struct disco_err err;
    CHECK(try_elf(&im, &le, &err) < 0);
    CHECK(strstr(err.msg, "beyond the end of the file") != NULL);
    /* filesz > memsz */
    make_elf(&im);
    ph->p_filesz = 64;
    ph->p_memsz = 16;
    CHECK(try_elf(&im, &le, &err) < 0);
    /* offset + filesz overflowing */
    make_elf(&im);
    ph->p_offset = UINT64_MAX - 4;
    CHECK(try_elf(&im, &le, &err) < 0);
    /* a huge memsz (bss) is refused by the RAM check, not allocated */
    make_elf(&im);
    ph->p_memsz = 1ull << 40;
    CHECK(try_elf(&im, &le, &err) < 0);
}

static void elf_bad_symtab(void)
{
    struct img im;
    make_elf(&im);
    Elf64_Shdr *sh = (Elf64_Shdr *)(im.b + OFF_SH);
    sh[1].sh_size = 1ull << 50;
    struct loaded_elf le;
    struct disco_err err;
    CHECK(try_elf(&im, &le, &err) < 0);
    make_elf(&im);
    sh[1].sh_link = 77;
    CHECK(try_elf(&im, &le, &err) < 0);
    make_elf(&im);
    ((Elf64_Ehdr *)im.b)->e_shoff = 1ull << 33;
    CHECK(try_elf(&im, &le, &err) < 0);
    /* a name offset past the string table is skipped, not read */
    make_elf(&im);
    ((Elf64_Sym *)(im.b + OFF_SYM))[1].st_name = 100000;
    CHECK_EQ(try_elf(&im, &le, &err), 0);
    CHECK(!le.has_tohost);
}

static void elf_missing_file(void)
{
    struct pmap *pm = new_ram();
    struct loaded_elf le;
    struct disco_err err;
    err_clear(&err);
    CHECK(loader_load_elf(pm, "/nonexistent/disco.elf", &le, &err) < 0);
    CHECK(strstr(err.msg, "/nonexistent/disco.elf") != NULL);
    CHECK(loader_load_elf(pm, "/tmp", &le, &err) < 0);   /* a directory */
    pmap_free(pm);
}

static void image_loader(void)
{
    uint8_t img[256];
    memset(img, 0, sizeof img);
    struct pmap *pm = new_ram();
    struct loaded_kernel k;
    struct disco_err err;

    /* bad magic */
    const char *path = write_tmp(img, sizeof img);
    err_clear(&err);
    CHECK(loader_load_kernel(pm, path, 0x80200000, &k, &err) < 0);
    CHECK(strstr(err.msg, "not a RISC-V Linux Image") != NULL);
    CHECK(strstr(err.msg, path) != NULL);
    unlink(path);

    /* too short */
    path = write_tmp(img, 10);
    CHECK(loader_load_kernel(pm, path, 0x80200000, &k, &err) < 0);
    unlink(path);

    /* valid: image_size (64 KiB) larger than the file */
    memcpy(img + 0x38, "RSC\x05", 4);
    uint64_t image_size = 0x10000;
    memcpy(img + 0x10, &image_size, 8);
    img[0x40] = 0x13;
    path = write_tmp(img, sizeof img);
    err_clear(&err);
    CHECK_EQ(loader_load_kernel(pm, path, 0x80200000, &k, &err), 0);
    CHECK_EQ(k.addr, 0x80200000);
    CHECK_EQ(k.entry, 0x80200000);
    CHECK_EQ(k.size, 0x10000);
    uint8_t b = 0;
    pmap_read(pm, 0x80200040, &b, 1);
    CHECK_EQ(b, 0x13);
    unlink(path);

    /* image_size beyond RAM */
    image_size = 1ull << 40;
    memcpy(img + 0x10, &image_size, 8);
    path = write_tmp(img, sizeof img);
    CHECK(loader_load_kernel(pm, path, 0x80200000, &k, &err) < 0);
    CHECK(strstr(err.msg, "--mem") != NULL);
    unlink(path);

    /* gzip */
    img[0] = 0x1f;
    img[1] = 0x8b;
    path = write_tmp(img, sizeof img);
    CHECK(loader_load_kernel(pm, path, 0x80200000, &k, &err) < 0);
    CHECK(strstr(err.msg, "gzip") != NULL);
    unlink(path);
    pmap_free(pm);
}

static void raw_loader(void)
{
    uint8_t data[100];
    for (int i = 0; i < 100; i++)
        data[i] = (uint8_t)i;
    struct pmap *pm = new_ram();
    const char *path = write_tmp(data, sizeof data);
    struct disco_err err;
    uint64_t size = 0;
    CHECK_EQ(loader_load_raw(pm, path, "initrd", 0x80400000, 1000, &size, &err), 0);
    CHECK_EQ(size, 100);
    uint8_t got[100];
    pmap_read(pm, 0x80400000, got, 100);
    CHECK(memcmp(got, data, 100) == 0);
    CHECK(loader_load_raw(pm, path, "initrd", 0x80400000, 99, &size, &err) < 0);
    CHECK(loader_load_raw(pm, path, "initrd", RAM_BASE + RAM_SIZE - 50, 1000, &size, &err) < 0);
    CHECK(strstr(err.msg, "initrd") != NULL);
    unlink(path);
    pmap_free(pm);
}

int main(void)
{
    RUN(elf_loads_segment_and_finds_tohost);
    RUN(elf_truncated_header);
    RUN(elf_bad_magic);
    RUN(elf_wrong_machine);
    RUN(elf_segment_outside_ram);
    RUN(elf_phoff_beyond_file);
    RUN(elf_huge_filesz);
    RUN(elf_bad_symtab);
    RUN(elf_missing_file);
    RUN(image_loader);
    RUN(raw_loader);
    T_EXIT();
}

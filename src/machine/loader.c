#include "machine/loader.h"

#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB(x) ((unsigned long long)(x) >> 20)
#define COPY_CHUNK (1u << 20)
/* Symbol tables larger than this are refused (a bare-metal test has a few
 * hundred symbols; a vmlinux's symbols are never read). */
#define MAX_SYMTAB (256ull << 20)
#define MAX_PHNUM 4096u

/* ---- file helpers ------------------------------------------------------ */

struct lfile {
    int fd;
    uint64_t size;
    const char *path;
};

static int lfile_open(struct lfile *f, const char *path, const char *what, struct disco_err *err)
{
    f->fd = -1;
    f->path = path;
    if (!path || !*path)
        return err_set(err, -EINVAL, "no %s file given", what);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, errno, "cannot open %s '%s'", what, path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return err_errno(err, e, "cannot stat %s '%s'", what, path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(err, -EINVAL, "%s '%s' is not a regular file", what, path);
    }
    f->fd = fd;
    f->size = (uint64_t)st.st_size;
    return 0;
}

static void lfile_close(struct lfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

/* Read exactly len bytes at off; the range has been checked against the
 * file size, so a short read means the file changed or an I/O error. */
static int lfile_read(struct lfile *f, void *buf, size_t len, uint64_t off, struct disco_err *err)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(f->fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return err_errno(err, errno, "cannot read '%s' at offset %llu", f->path,
                             (unsigned long long)(off + done));
        }
        if (n == 0)
            return err_set(err, -EIO, "'%s' is shorter than expected (truncated while reading?)",
                           f->path);
        done += (size_t)n;
    }
    return 0;
}

/* True if [off, off+len) lies inside the file (overflow-safe). */
static bool lfile_has(const struct lfile *f, uint64_t off, uint64_t len)
{
    return off <= f->size && len <= f->size - off;
}

/* Copy file bytes [off, off+len) to guest-physical gpa (range pre-checked). */
static int lfile_copy_to_guest(struct lfile *f, uint64_t off, uint64_t len, struct pmap *pm,
                               uint64_t gpa, struct disco_err *err)
{
    if (len == 0)
        return 0;
    size_t chunk = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
    uint8_t *buf = malloc(chunk);
    if (!buf)
        return err_set(err, -ENOMEM, "out of memory loading '%s'", f->path);
    int rc = 0;
    uint64_t done = 0;
    while (done < len) {
        size_t n = len - done < chunk ? (size_t)(len - done) : chunk;
        rc = lfile_read(f, buf, n, off + done, err);
        if (rc < 0)
            break;
        if (pmap_write(pm, gpa + done, buf, n) < 0) {
            rc = err_set(err, -EFAULT, "'%s': guest address 0x%llx is outside RAM", f->path,
                         (unsigned long long)(gpa + done));
            break;
        }
        done += n;
    }
    free(buf);
    return rc;
}

static int outside_ram(struct pmap *pm, const char *what, const char *path, uint64_t gpa,
                       uint64_t len, struct disco_err *err)
{
    uint64_t end = gpa + len;
    return err_set(err, -ERANGE,
                   "%s '%s': [0x%llx, 0x%llx%s) (%llu MiB) does not fit in guest RAM "
                   "[0x%llx, 0x%llx) (try a larger --mem)",
                   what, path, (unsigned long long)gpa, (unsigned long long)end,
                   end < gpa ? ", wraps" : "", MIB(len),
                   (unsigned long long)pmap_base(pm),
                   (unsigned long long)(pmap_base(pm) + pmap_size(pm)));
}

int loader_file_size(const char *path, const char *what, uint64_t *size, struct disco_err *err)
{
    struct lfile f;
    int rc = lfile_open(&f, path, what, err);
    if (rc < 0)
        return rc;
    *size = f.size;
    lfile_close(&f);
    return 0;
}

bool loader_is_elf(const char *path)
{
    struct lfile f;
    if (lfile_open(&f, path, "file", NULL) < 0)
        return false;
    uint8_t m[SELFMAG];
    bool is = lfile_has(&f, 0, SELFMAG) && lfile_read(&f, m, SELFMAG, 0, NULL) == 0 &&
              memcmp(m, ELFMAG, SELFMAG) == 0;
    lfile_close(&f);
    return is;
}

int loader_load_raw(struct pmap *pm, const char *path, const char *what, uint64_t addr,
                    uint64_t max_size, uint64_t *size, struct disco_err *err)
{
    struct lfile f;
    int rc = lfile_open(&f, path, what, err);
    if (rc < 0)
        return rc;
    if (f.size > max_size) {
        rc = err_set(err, -EFBIG, "%s '%s' is too large: %llu bytes, at most %llu fit", what, path,
                     (unsigned long long)f.size, (unsigned long long)max_size);
    } else if (!pmap_contains(pm, addr, f.size)) {
        rc = outside_ram(pm, what, path, addr, f.size, err);
    } else {
        rc = lfile_copy_to_guest(&f, 0, f.size, pm, addr, err);
        if (rc == 0 && size)
            *size = f.size;
    }
    lfile_close(&f);
    return rc;
}

/* ---- ELF ---------------------------------------------------------------- */

struct elf {
    struct lfile f;
    const char *what;
    Elf64_Ehdr eh;
    Elf64_Phdr *ph;
    unsigned phnum;
};

static void ehdr_from_le(Elf64_Ehdr *e)
{
    e->e_type = le16toh(e->e_type);
    e->e_machine = le16toh(e->e_machine);
    e->e_version = le32toh(e->e_version);
    e->e_entry = le64toh(e->e_entry);
    e->e_phoff = le64toh(e->e_phoff);
    e->e_shoff = le64toh(e->e_shoff);
    e->e_flags = le32toh(e->e_flags);
    e->e_ehsize = le16toh(e->e_ehsize);
    e->e_phentsize = le16toh(e->e_phentsize);
    e->e_phnum = le16toh(e->e_phnum);
    e->e_shentsize = le16toh(e->e_shentsize);
    e->e_shnum = le16toh(e->e_shnum);
    e->e_shstrndx = le16toh(e->e_shstrndx);
}

static void phdr_from_le(Elf64_Phdr *p)
{
    p->p_type = le32toh(p->p_type);
    p->p_flags = le32toh(p->p_flags);
    p->p_offset = le64toh(p->p_offset);
    p->p_vaddr = le64toh(p->p_vaddr);
    p->p_paddr = le64toh(p->p_paddr);
    p->p_filesz = le64toh(p->p_filesz);
    p->p_memsz = le64toh(p->p_memsz);
    p->p_align = le64toh(p->p_align);
}

static void shdr_from_le(Elf64_Shdr *s)
{
    s->sh_name = le32toh(s->sh_name);
    s->sh_type = le32toh(s->sh_type);
    s->sh_flags = le64toh(s->sh_flags);
    s->sh_addr = le64toh(s->sh_addr);
    s->sh_offset = le64toh(s->sh_offset);
    s->sh_size = le64toh(s->sh_size);
    s->sh_link = le32toh(s->sh_link);
    s->sh_info = le32toh(s->sh_info);
    s->sh_addralign = le64toh(s->sh_addralign);
    s->sh_entsize = le64toh(s->sh_entsize);
}

static void elf_close(struct elf *e)
{
    free(e->ph);
    e->ph = NULL;
    lfile_close(&e->f);
}

/* Open and validate the ELF header and program headers. */
static int elf_open(struct elf *e, const char *path, const char *what, struct disco_err *err)
{
    memset(e, 0, sizeof *e);
    e->what = what;
    int rc = lfile_open(&e->f, path, what, err);
    if (rc < 0)
        return rc;
    if (!lfile_has(&e->f, 0, sizeof e->eh)) {
        rc = err_set(err, -ENOEXEC, "%s '%s': truncated ELF header (%llu bytes, need %zu)", what,
                     path, (unsigned long long)e->f.size, sizeof e->eh);
        goto fail;
    }
    if ((rc = lfile_read(&e->f, &e->eh, sizeof e->eh, 0, err)) < 0)
        goto fail;
    const unsigned char *id = e->eh.e_ident;
    if (memcmp(id, ELFMAG, SELFMAG) != 0) {
        rc = err_set(err, -ENOEXEC, "%s '%s' is not an ELF file (bad magic)", what, path);
        goto fail;
    }
    if (id[EI_CLASS] != ELFCLASS64) {
        rc = err_set(err, -ENOEXEC, "%s '%s' is not a 64-bit ELF (class %u)", what, path,
                     id[EI_CLASS]);
        goto fail;
    }
    if (id[EI_DATA] != ELFDATA2LSB) {
        rc = err_set(err, -ENOEXEC, "%s '%s' is not a little-endian ELF", what, path);
        goto fail;
    }
    ehdr_from_le(&e->eh);
    if (e->eh.e_machine != EM_RISCV_NUM) {
        rc = err_set(err, -ENOEXEC, "%s '%s' is an ELF for machine %u, not RISC-V (%u)", what,
                     path, e->eh.e_machine, EM_RISCV_NUM);
        goto fail;
    }
    if (e->eh.e_type != ET_EXEC && e->eh.e_type != ET_DYN) {
        rc = err_set(err, -ENOEXEC, "%s '%s' is not an executable ELF (e_type %u)", what, path,
                     e->eh.e_type);
        goto fail;
    }
    if (e->eh.e_phnum == 0 || e->eh.e_phnum == PN_XNUM || e->eh.e_phnum > MAX_PHNUM) {
        rc = err_set(err, -ENOEXEC, "%s '%s': unsupported number of program headers (%u)", what,
                     path, e->eh.e_phnum);
        goto fail;
    }
    if (e->eh.e_phentsize != sizeof(Elf64_Phdr)) {
        rc = err_set(err, -ENOEXEC, "%s '%s': bad program header size %u (expected %zu)", what,
                     path, e->eh.e_phentsize, sizeof(Elf64_Phdr));
        goto fail;
    }
    uint64_t phbytes = (uint64_t)e->eh.e_phnum * sizeof(Elf64_Phdr);
    if (!lfile_has(&e->f, e->eh.e_phoff, phbytes)) {
        rc = err_set(err, -ENOEXEC,
                     "%s '%s': program headers at offset 0x%llx (+%llu bytes) lie beyond the end "
                     "of the file (%llu bytes)",
                     what, path, (unsigned long long)e->eh.e_phoff, (unsigned long long)phbytes,
                     (unsigned long long)e->f.size);
        goto fail;
    }
    e->phnum = e->eh.e_phnum;
    e->ph = malloc(phbytes);
    if (!e->ph) {
        rc = err_set(err, -ENOMEM, "out of memory reading '%s'", path);
        goto fail;
    }
    if ((rc = lfile_read(&e->f, e->ph, phbytes, e->eh.e_phoff, err)) < 0)
        goto fail;
    unsigned nload = 0;
    for (unsigned i = 0; i < e->phnum; i++) {
        Elf64_Phdr *p = &e->ph[i];
        phdr_from_le(p);
        if (p->p_type != PT_LOAD)
            continue;
        if (p->p_filesz > p->p_memsz) {
            rc = err_set(err, -ENOEXEC,
                         "%s '%s': segment %u has file size 0x%llx larger than memory size 0x%llx",
                         what, path, i, (unsigned long long)p->p_filesz,
                         (unsigned long long)p->p_memsz);
            goto fail;
        }
        if (!lfile_has(&e->f, p->p_offset, p->p_filesz)) {
            rc = err_set(err, -ENOEXEC,
                         "%s '%s': segment %u data at offset 0x%llx (+0x%llx bytes) lies beyond "
                         "the end of the file (%llu bytes)",
                         what, path, i, (unsigned long long)p->p_offset,
                         (unsigned long long)p->p_filesz, (unsigned long long)e->f.size);
            goto fail;
        }
        if (p->p_memsz)
            nload++;
    }
    if (nload == 0) {
        rc = err_set(err, -ENOEXEC, "%s '%s' has no loadable segments", what, path);
        goto fail;
    }
    return 0;
fail:
    elf_close(e);
    return rc;
}

/* Load every PT_LOAD segment at (p_paddr + delta). */
static int elf_load_segments(struct elf *e, struct pmap *pm, uint64_t delta, struct disco_err *err)
{
    for (unsigned i = 0; i < e->phnum; i++) {
        const Elf64_Phdr *p = &e->ph[i];
        if (p->p_type != PT_LOAD || p->p_memsz == 0)
            continue;
        uint64_t dst = p->p_paddr + delta;
        if (!pmap_contains(pm, dst, p->p_memsz)) {
            char what[64];
            snprintf(what, sizeof what, "%s segment %u of", e->what, i);
            return outside_ram(pm, what, e->f.path, dst, p->p_memsz, err);
        }
        int rc = lfile_copy_to_guest(&e->f, p->p_offset, p->p_filesz, pm, dst, err);
        if (rc < 0)
            return rc;
        if (p->p_memsz > p->p_filesz &&
            pmap_fill(pm, dst + p->p_filesz, 0, p->p_memsz - p->p_filesz) < 0)
            return outside_ram(pm, e->what, e->f.path, dst, p->p_memsz, err);
    }
    return 0;
}

/* Span of the PT_LOAD segments, by paddr (use_vaddr: by vaddr). */
static void elf_span(const struct elf *e, bool use_vaddr, uint64_t *lo, uint64_t *hi)
{
    *lo = UINT64_MAX;
    *hi = 0;
    for (unsigned i = 0; i < e->phnum; i++) {
        const Elf64_Phdr *p = &e->ph[i];
        if (p->p_type != PT_LOAD || p->p_memsz == 0)
            continue;
        uint64_t a = use_vaddr ? p->p_vaddr : p->p_paddr;
        uint64_t end = a + p->p_memsz;
        if (end < a)
            end = UINT64_MAX;
        if (a < *lo)
            *lo = a;
        if (end > *hi)
            *hi = end;
    }
}

/* Look up tohost / fromhost in .symtab. A missing symbol table is fine. */
static int elf_find_htif(struct elf *e, struct loaded_elf *out, struct disco_err *err)
{
    const Elf64_Ehdr *eh = &e->eh;
    const char *path = e->f.path;
    if (eh->e_shoff == 0 || eh->e_shnum == 0)
        return 0;
    if (eh->e_shentsize != sizeof(Elf64_Shdr))
        return err_set(err, -ENOEXEC, "%s '%s': bad section header size %u (expected %zu)",
                       e->what, path, eh->e_shentsize, sizeof(Elf64_Shdr));
    uint64_t shbytes = (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr);
    if (!lfile_has(&e->f, eh->e_shoff, shbytes))
        return err_set(err, -ENOEXEC,
                       "%s '%s': section headers at offset 0x%llx lie beyond the end of the file",
                       e->what, path, (unsigned long long)eh->e_shoff);
    Elf64_Shdr *sh = malloc(shbytes);
    if (!sh)
        return err_set(err, -ENOMEM, "out of memory reading '%s'", path);
    char *strtab = NULL;
    Elf64_Sym *syms = NULL;
    int rc = lfile_read(&e->f, sh, shbytes, eh->e_shoff, err);
    if (rc < 0)
        goto out;
    for (unsigned i = 0; i < eh->e_shnum; i++)
        shdr_from_le(&sh[i]);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB)
            continue;
        const Elf64_Shdr *st = &sh[i];
        if (st->sh_link >= eh->e_shnum || sh[st->sh_link].sh_type != SHT_STRTAB) {
            rc = err_set(err, -ENOEXEC, "%s '%s': symbol table %u has no valid string table",
                         e->what, path, i);
            goto out;
        }
        const Elf64_Shdr *ss = &sh[st->sh_link];
        if (!lfile_has(&e->f, st->sh_offset, st->sh_size) ||
            !lfile_has(&e->f, ss->sh_offset, ss->sh_size) || st->sh_size > MAX_SYMTAB ||
            ss->sh_size > MAX_SYMTAB) {
            rc = err_set(err, -ENOEXEC,
                         "%s '%s': symbol table %u or its strings lie beyond the end of the file",
                         e->what, path, i);
            goto out;
        }
        size_t nsym = st->sh_size / sizeof(Elf64_Sym);
        size_t strsz = ss->sh_size;
        syms = malloc(nsym * sizeof(Elf64_Sym) + 1);
        strtab = malloc(strsz + 1);
        if (!syms || !strtab) {
            rc = err_set(err, -ENOMEM, "out of memory reading symbols of '%s'", path);
            goto out;
        }
        if ((rc = lfile_read(&e->f, syms, nsym * sizeof(Elf64_Sym), st->sh_offset, err)) < 0 ||
            (rc = lfile_read(&e->f, strtab, strsz, ss->sh_offset, err)) < 0)
            goto out;
        strtab[strsz] = '\0';
        for (size_t k = 0; k < nsym; k++) {
            uint32_t name = le32toh(syms[k].st_name);
            if (name == 0 || name >= strsz)
                continue;
            const char *n = strtab + name;   /* NUL-terminated: strtab[strsz] = 0 */
            if (strcmp(n, "tohost") == 0) {
                out->has_tohost = true;
                out->tohost = le64toh(syms[k].st_value);
            } else if (strcmp(n, "fromhost") == 0) {
                out->has_fromhost = true;
                out->fromhost = le64toh(syms[k].st_value);
            }
        }
        break;  /* one .symtab */
    }
out:
    free(syms);
    free(strtab);
    free(sh);
    return rc;
}

int loader_load_elf(struct pmap *pm, const char *path, struct loaded_elf *out,
                    struct disco_err *err)
{
    memset(out, 0, sizeof *out);
    struct elf e;
    int rc = elf_open(&e, path, "ELF", err);
    if (rc < 0)
        return rc;
    elf_span(&e, false, &out->lo, &out->hi);
    rc = elf_load_segments(&e, pm, 0, err);
    if (rc == 0)
        rc = elf_find_htif(&e, out, err);
    if (rc == 0) {
        out->entry = e.eh.e_entry;
        if (!pmap_contains(pm, out->entry, 2))
            rc = err_set(err, -ENOEXEC, "ELF '%s': entry point 0x%llx is not in guest RAM",
                         path, (unsigned long long)out->entry);
    }
    if (rc == 0 && out->has_tohost && !pmap_contains(pm, out->tohost, 8))
        rc = err_set(err, -ENOEXEC, "ELF '%s': tohost (0x%llx) is not in guest RAM", path,
                     (unsigned long long)out->tohost);
    if (rc == 0 && out->has_fromhost && !pmap_contains(pm, out->fromhost, 8))
        out->has_fromhost = false;   /* optional: just don't answer */
    elf_close(&e);
    return rc;
}

/* ---- Linux kernel ------------------------------------------------------- */

static int load_kernel_elf(struct pmap *pm, const char *path, uint64_t addr,
                           struct loaded_kernel *out, struct disco_err *err)
{
    struct elf e;
    int rc = elf_open(&e, path, "kernel", err);
    if (rc < 0)
        return rc;
    uint64_t lo, hi, delta;
    elf_span(&e, false, &lo, &hi);
    if (hi > lo && pmap_contains(pm, lo, hi - lo)) {
        delta = 0;   /* physical addresses are RAM: use them */
    } else {
        /* vmlinux linked at a virtual address: keep the layout, place the
         * lowest segment at `addr` (the kernel relocates itself). */
        elf_span(&e, true, &lo, &hi);
        if (e.eh.e_entry < lo || e.eh.e_entry >= hi) {
            rc = err_set(err, -ENOEXEC, "kernel '%s': entry point 0x%llx is outside its segments",
                         path, (unsigned long long)e.eh.e_entry);
            elf_close(&e);
            return rc;
        }
        for (unsigned i = 0; i < e.phnum; i++)
            e.ph[i].p_paddr = addr + (e.ph[i].p_vaddr - lo);
        e.eh.e_entry = addr + (e.eh.e_entry - lo);
        delta = 0;
        hi = addr + (hi - lo);
        lo = addr;
    }
    if (hi <= lo || !pmap_contains(pm, lo, hi - lo)) {
        rc = outside_ram(pm, "kernel", path, lo, hi - lo, err);
    } else {
        rc = elf_load_segments(&e, pm, delta, err);
        if (rc == 0) {
            out->addr = lo;
            out->size = hi - lo;
            out->entry = e.eh.e_entry;
            if (!pmap_contains(pm, out->entry, 2))
                rc = err_set(err, -ENOEXEC, "kernel '%s': entry point 0x%llx is not in RAM", path,
                             (unsigned long long)out->entry);
        }
    }
    elf_close(&e);
    return rc;
}

int loader_load_kernel(struct pmap *pm, const char *path, uint64_t addr,
                       struct loaded_kernel *out, struct disco_err *err)
{
    struct lfile f;
    int rc = lfile_open(&f, path, "kernel", err);
    if (rc < 0)
        return rc;
    uint8_t hdr[RISCV_IMAGE_HEADER_SIZE];
    memset(hdr, 0, sizeof hdr);
    if (f.size >= SELFMAG && (rc = lfile_read(&f, hdr, SELFMAG, 0, err)) < 0)
        goto out;
    if (f.size >= SELFMAG && memcmp(hdr, ELFMAG, SELFMAG) == 0) {
        lfile_close(&f);
        return load_kernel_elf(pm, path, addr, out, err);
    }
    if (f.size >= 2 && hdr[0] == 0x1f && hdr[1] == 0x8b) {
        rc = err_set(err, -ENOEXEC,
                     "kernel '%s' is gzip-compressed; pass the uncompressed Image", path);
        goto out;
    }
    if (f.size < RISCV_IMAGE_HEADER_SIZE) {
        rc = err_set(err, -ENOEXEC,
                     "kernel '%s' is too short (%llu bytes) to be a RISC-V Linux Image", path,
                     (unsigned long long)f.size);
        goto out;
    }
    if ((rc = lfile_read(&f, hdr, sizeof hdr, 0, err)) < 0)
        goto out;
    if (memcmp(hdr + 0x38, RISCV_IMAGE_MAGIC2, 4) != 0 &&
        memcmp(hdr + 0x30, RISCV_IMAGE_MAGIC, 8) != 0) {
        rc = err_set(err, -ENOEXEC,
                     "kernel '%s' is not a RISC-V Linux Image (no \"RSC\\x05\" magic at 0x38) "
                     "nor an ELF",
                     path);
        goto out;
    }
    uint64_t image_size;
    memcpy(&image_size, hdr + 0x10, 8);
    image_size = le64toh(image_size);
    uint64_t footprint = image_size > f.size ? image_size : f.size;
    footprint = (footprint + PMAP_PAGE_SIZE - 1) & ~(PMAP_PAGE_SIZE - 1);
    if (footprint < image_size || !pmap_contains(pm, addr, footprint)) {
        rc = outside_ram(pm, "kernel", path, addr, footprint, err);
        goto out;
    }
    if ((rc = lfile_copy_to_guest(&f, 0, f.size, pm, addr, err)) < 0)
        goto out;
    /* The image's bss must start out zero even on a reused RAM. */
    if (footprint > f.size)
        pmap_fill(pm, addr + f.size, 0, footprint - f.size);
    out->addr = addr;
    out->size = footprint;
    out->entry = addr;
out:
    lfile_close(&f);
    return rc;
}

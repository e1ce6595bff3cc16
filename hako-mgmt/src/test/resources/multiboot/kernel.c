/*
 * hako's Multiboot test kernel: walks the Multiboot information structure (Multiboot Specification 0.6.96, 3.3)
 * and prints what it finds on QEMU's isa-debugcon (port 0xE9), one fact a line, then ends the run through
 * isa-debug-exit (port 0xF4) with 0x10 plus the number of modules, so the host sees status
 * ((0x10 + mods_count) << 1) | 1. A wrong magic in EAX ends it at once with 0x7F.
 */
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

struct multiboot_info {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    u32 syms[4];
    u32 mmap_length, mmap_addr;
    u32 drives_length, drives_addr, config_table, boot_loader_name;
};

struct multiboot_module {
    u32 mod_start, mod_end, string, reserved;
};

struct multiboot_mmap_entry {
    u32 size;
    u64 base_addr, length;
    u32 type;
} __attribute__((packed));

static void outb(unsigned short port, u8 value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static void outl(unsigned short port, u32 value) {
    __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

static u8 inb(unsigned short port) {
    u8 value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static void put(const char *s) {
    while (*s) {
        outb(0xE9, (u8) *s++);
    }
}

static void put_bytes(const u8 *p, u32 n) {
    for (u32 i = 0; i < n; i++) {
        outb(0xE9, p[i]);
    }
}

static void put_dec(u32 v) {
    char digits[11];
    int n = 0;
    do {
        digits[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) {
        outb(0xE9, (u8) digits[--n]);
    }
}

static void put_hex(u64 v) {
    put("0x");
    int shift = 60;
    while (shift > 0 && ((v >> shift) & 0xF) == 0) {
        shift -= 4;
    }
    for (; shift >= 0; shift -= 4) {
        outb(0xE9, (u8) "0123456789abcdef"[(v >> shift) & 0xF]);
    }
}

static __attribute__((noreturn)) void finish(u32 value) {
    outl(0xF4, value);
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

void kernel_main(u32 magic, const struct multiboot_info *info) {
    if (magic != 0x2BADB002) {
        put("bad magic ");
        put_hex(magic);
        put("\n");
        finish(0x7F);
    }
    put("debugcon readback ");
    put_hex(inb(0xE9));
    put("\nflags ");
    put_hex(info->flags);
    if (info->flags & 1) {
        put("\nmem_lower ");
        put_dec(info->mem_lower);
        put(" KiB\nmem_upper ");
        put_dec(info->mem_upper);
        put(" KiB");
    }
    if (info->flags & (1 << 2)) {
        put("\ncmdline [");
        put((const char *) info->cmdline);
        put("]");
    }
    u32 modules = 0;
    if (info->flags & (1 << 3)) {
        modules = info->mods_count;
        const struct multiboot_module *m = (const struct multiboot_module *) info->mods_addr;
        for (u32 i = 0; i < modules; i++) {
            put("\nmodule ");
            put_dec(i);
            put(" [");
            put((const char *) m[i].string);
            put("] ");
            put_dec(m[i].mod_end - m[i].mod_start);
            put(m[i].mod_start & 0xFFF ? " bytes unaligned [" : " bytes page-aligned [");
            put_bytes((const u8 *) m[i].mod_start, m[i].mod_end - m[i].mod_start);
            put("]");
        }
    }
    if (info->flags & (1 << 6)) {
        u32 at = info->mmap_addr;
        while (at < info->mmap_addr + info->mmap_length) {
            const struct multiboot_mmap_entry *e = (const struct multiboot_mmap_entry *) at;
            put("\nmmap ");
            put_hex(e->base_addr);
            put(" ");
            put_hex(e->length);
            put(" type ");
            put_dec(e->type);
            at += e->size + 4;
        }
    }
    if (info->flags & (1 << 9)) {
        put("\nboot loader [");
        put((const char *) info->boot_loader_name);
        put("]");
    }
    put("\n");
    finish(0x10 + modules);
}

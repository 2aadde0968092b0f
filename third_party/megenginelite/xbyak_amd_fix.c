/* See xbyak_amd_fix.h. The offsets and bytes come from the shared notes on the hang (measured on
 * megengine 1.13.0's cp310 wheel); docs/speed.md has the story. */
#define _GNU_SOURCE
#include "third_party/megenginelite/xbyak_amd_fix.h"

#include <cpuid.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LIBRARY_NAME "libmegengine_shared.so"

/* GNU build id of the one library build the offsets below belong to. */
static const unsigned char kBuildId[20] = {0xd3, 0xb2, 0x95, 0xc3, 0x79, 0x3f, 0x08, 0x72, 0x55, 0x94,
                                           0xd2, 0xe8, 0xcc, 0x52, 0x5b, 0x5c, 0x1d, 0x3c, 0x37, 0xf9};

struct code_bytes {
  uintptr_t offset;
  size_t size;
  unsigned char bytes[9];
};

/* Xbyak::Error(int): `lea` first, then `cmp $0x2c,%esi; ja` — the test that sends error 45 to
 * exit(1). If these differ, the library's error handling is not the one the fix is about. */
static const struct code_bytes kErrorConstructor[2] = {
    {0xa695b90, 3, {0x48, 0x8d, 0x05}},
    {0xa695b9d, 4, {0x83, 0xfe, 0x2c, 0x77}},
};

/* The three reads of a Cpu object's x2APIC_supported_ flag that lead to error 45, and the flag
 * each one reads (its rip-relative displacement is part of the checked bytes). */
struct cpu_site {
  struct code_bytes code;
  uintptr_t flag;
  const char* what;
};

static const struct cpu_site kSites[3] = {
    {{0xab2ff06, 9, {0x0f, 0xb6, 0x05, 0xdb, 0xbb, 0xfc, 0x51, 0x84, 0xc0}}, 0x5cafbae8,
     "fp32 Winograd 4x3 convolution"},
    {{0xab5a1eb, 7, {0x80, 0x3d, 0x36, 0x1a, 0xfa, 0x51, 0x00}}, 0x5cafbc28, "int8 1x1 convolution"},
    {{0xab6a99f, 7, {0x80, 0x3d, 0xc2, 0x13, 0xf9, 0x51, 0x00}}, 0x5cafbd68, "int8 convolution"},
};

/* Xbyak 5.80's Cpu layout around the flag: `uint64_t type_` just before it, then
 * `unsigned numCores_[2]` (threads per core, logical CPUs per package) at +4 and +8. */
#define TYPE_BEFORE_FLAG 8
#define NUM_CORES_AFTER_FLAG 4
#define XBYAK_T_AMD (UINT64_C(1) << 25)

__attribute__((format(printf, 3, 4))) static void say(char* reason, size_t reason_size, const char* format, ...) {
  if (reason == NULL || reason_size == 0) return;
  va_list args;
  va_start(args, format);
  vsnprintf(reason, reason_size, format, args);
  va_end(args);
}

/* The ELF program headers of an image, checked to lie inside it. */
static const Elf64_Phdr* program_headers(const unsigned char* image, size_t size, size_t* count) {
  if (size < sizeof(Elf64_Ehdr)) return NULL;
  const Elf64_Ehdr* header = (const Elf64_Ehdr*)image;
  if (memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 || header->e_ident[EI_CLASS] != ELFCLASS64) return NULL;
  if (header->e_phentsize != sizeof(Elf64_Phdr) || header->e_phoff > size ||
      header->e_phnum > (size - header->e_phoff) / sizeof(Elf64_Phdr)) {
    return NULL;
  }
  *count = header->e_phnum;
  return (const Elf64_Phdr*)(image + header->e_phoff);
}

/* 1 when the image carries kBuildId in a PT_NOTE within its `size` bytes. Gold put the note in
 * the last segment, where file offsets and virtual offsets differ: `loaded` says which to use. */
static int has_build_id(const unsigned char* image, size_t size, const Elf64_Phdr* headers, size_t count,
                        int loaded) {
  for (size_t i = 0; i < count; ++i) {
    const Elf64_Phdr* note = &headers[i];
    size_t start = loaded ? note->p_vaddr : note->p_offset;
    if (note->p_type != PT_NOTE || start > size || note->p_filesz > size - start) continue;
    size_t at = start, end = start + note->p_filesz;
    while (end - at >= sizeof(Elf64_Nhdr)) {
      const Elf64_Nhdr* entry = (const Elf64_Nhdr*)(image + at);
      size_t name = (entry->n_namesz + 3u) & ~3u, desc = (entry->n_descsz + 3u) & ~3u;
      if (name > end - at - sizeof(Elf64_Nhdr) || desc > end - at - sizeof(Elf64_Nhdr) - name) break;
      const unsigned char* name_bytes = image + at + sizeof(Elf64_Nhdr);
      if (entry->n_type == NT_GNU_BUILD_ID && entry->n_namesz == 4 && memcmp(name_bytes, "GNU", 4) == 0) {
        return entry->n_descsz == sizeof kBuildId && memcmp(name_bytes + name, kBuildId, sizeof kBuildId) == 0;
      }
      at += sizeof(Elf64_Nhdr) + name + desc;
    }
  }
  return 0;
}

static int code_matches(const unsigned char* image, size_t size, const struct code_bytes* code) {
  return code->offset <= size && code->size <= size - code->offset &&
         memcmp(image + code->offset, code->bytes, code->size) == 0;
}

/* The code the fix reads lies in the first segment, where file and virtual offsets are equal. */
static int check(const unsigned char* image, size_t size, int loaded, char* reason, size_t reason_size) {
  size_t count = 0;
  const Elf64_Phdr* headers = program_headers(image, size, &count);
  if (headers == NULL) {
    say(reason, reason_size, "not applied: " LIBRARY_NAME " is not a 64-bit ELF library");
    return MEGDEPLOY_XBYAK_AMD_FIX_UNKNOWN_LIBRARY;
  }
  if (!has_build_id(image, size, headers, count, loaded)) {
    say(reason, reason_size,
        "not applied: " LIBRARY_NAME " is another build (its build id is not megengine 1.13.0's d3b295c3...)");
    return MEGDEPLOY_XBYAK_AMD_FIX_UNKNOWN_LIBRARY;
  }
  for (size_t i = 0; i < 2; ++i) {
    if (!code_matches(image, size, &kErrorConstructor[i])) {
      say(reason, reason_size, "not applied: " LIBRARY_NAME ": Xbyak's error check at 0x%lx has other bytes",
          (unsigned long)kErrorConstructor[i].offset);
      return MEGDEPLOY_XBYAK_AMD_FIX_UNKNOWN_LIBRARY;
    }
  }
  for (size_t i = 0; i < 3; ++i) {
    if (!code_matches(image, size, &kSites[i].code)) {
      say(reason, reason_size, "not applied: " LIBRARY_NAME ": the %s's topology check at 0x%lx has other bytes",
          kSites[i].what, (unsigned long)kSites[i].code.offset);
      return MEGDEPLOY_XBYAK_AMD_FIX_UNKNOWN_LIBRARY;
    }
  }
  say(reason, reason_size, "would apply: " LIBRARY_NAME " is megengine 1.13.0's build");
  return MEGDEPLOY_XBYAK_AMD_FIX_APPLIED;
}

int megdeploy_xbyak_amd_fix_check_file(const unsigned char* file, size_t size, char* reason, size_t reason_size) {
  return check(file, size, 0, reason, reason_size);
}

struct loaded_library {
  const unsigned char* base;
  size_t size; /* from the load base to the end of the last segment */
  const Elf64_Phdr* headers;
  size_t count;
};

static int find_library(struct dl_phdr_info* info, size_t info_size, void* data) {
  (void)info_size;
  const char* slash = strrchr(info->dlpi_name, '/');
  const char* name = slash ? slash + 1 : info->dlpi_name;
  if (strcmp(name, LIBRARY_NAME) != 0) return 0;
  struct loaded_library* found = data;
  found->base = (const unsigned char*)info->dlpi_addr;
  found->headers = info->dlpi_phdr;
  found->count = info->dlpi_phnum;
  for (size_t i = 0; i < info->dlpi_phnum; ++i) {
    const Elf64_Phdr* segment = &info->dlpi_phdr[i];
    if (segment->p_type == PT_LOAD && segment->p_vaddr + segment->p_memsz > found->size) {
      found->size = segment->p_vaddr + segment->p_memsz;
    }
  }
  return 1;
}

/* 1 when [offset, offset + size) lies in a writable loaded segment of the library. */
static int writable(const struct loaded_library* library, uintptr_t offset, size_t size) {
  for (size_t i = 0; i < library->count; ++i) {
    const Elf64_Phdr* segment = &library->headers[i];
    if (segment->p_type == PT_LOAD && (segment->p_flags & PF_W) && offset >= segment->p_vaddr &&
        offset + size <= segment->p_vaddr + segment->p_memsz) {
      return 1;
    }
  }
  return 0;
}

static int cpu_is_amd(void) {
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return 0;
  char vendor[13];
  memcpy(vendor, &ebx, 4);
  memcpy(vendor + 4, &edx, 4);
  memcpy(vendor + 8, &ecx, 4);
  vendor[12] = '\0';
  return strcmp(vendor, "AuthenticAMD") == 0;
}

static pthread_mutex_t fix_lock = PTHREAD_MUTEX_INITIALIZER;

static int apply_locked(char* reason, size_t reason_size) {
  struct loaded_library library = {0};
  if (!dl_iterate_phdr(find_library, &library)) {
    say(reason, reason_size, "not applied: " LIBRARY_NAME " is not loaded in this process");
    return MEGDEPLOY_XBYAK_AMD_FIX_NOT_LOADED;
  }
  if (!cpu_is_amd()) {
    say(reason, reason_size, "not needed: the CPU is not AMD (Xbyak reads the core topology itself)");
    return MEGDEPLOY_XBYAK_AMD_FIX_NOT_NEEDED;
  }
  int status = check(library.base, library.size, 1, reason, reason_size);
  if (status != MEGDEPLOY_XBYAK_AMD_FIX_APPLIED) return status;

  unsigned char* objects[3];
  for (size_t i = 0; i < 3; ++i) {
    uintptr_t flag = kSites[i].flag;
    if (!writable(&library, flag - TYPE_BEFORE_FLAG, TYPE_BEFORE_FLAG + NUM_CORES_AFTER_FLAG + 8)) {
      say(reason, reason_size, "not applied: " LIBRARY_NAME ": the %s's Cpu object is not in writable memory",
          kSites[i].what);
      return MEGDEPLOY_XBYAK_AMD_FIX_UNKNOWN_LIBRARY;
    }
    objects[i] = (unsigned char*)library.base + flag;
    uint64_t type;
    memcpy(&type, objects[i] - TYPE_BEFORE_FLAG, sizeof type);
    if (!(type & XBYAK_T_AMD) || objects[i][0] > 1) {
      say(reason, reason_size, "not applied: " LIBRARY_NAME ": the %s's Cpu object does not read as Xbyak's "
          "(no AMD type bit, or its x2APIC flag is %u)", kSites[i].what, objects[i][0]);
      return MEGDEPLOY_XBYAK_AMD_FIX_UNKNOWN_LIBRARY;
    }
  }

  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned int topology[2] = {1u, cpus > 0 ? (unsigned int)cpus : 1u};
  int written = 0;
  for (size_t i = 0; i < 3; ++i) {
    if (__atomic_load_n(objects[i], __ATOMIC_ACQUIRE)) continue;
    memcpy(objects[i] + NUM_CORES_AFTER_FLAG, topology, sizeof topology);
    /* The flag last: a reader sees the topology before it sees the flag set. */
    __atomic_store_n(objects[i], (unsigned char)1, __ATOMIC_RELEASE);
    ++written;
  }
  if (written == 0) {
    say(reason, reason_size, "already applied: oneDNN's Xbyak core topology was set by an earlier call");
    return MEGDEPLOY_XBYAK_AMD_FIX_ALREADY_APPLIED;
  }
  say(reason, reason_size,
      "applied: oneDNN's Xbyak core topology set to 1 thread per core, %u CPUs (%d Cpu objects in " LIBRARY_NAME
      ")", topology[1], written);
  return MEGDEPLOY_XBYAK_AMD_FIX_APPLIED;
}

int megdeploy_xbyak_amd_fix_apply(char* reason, size_t reason_size) {
  pthread_mutex_lock(&fix_lock);
  int status = apply_locked(reason, reason_size);
  pthread_mutex_unlock(&fix_lock);
  return status;
}

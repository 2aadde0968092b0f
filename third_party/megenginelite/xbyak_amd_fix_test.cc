// The Xbyak fix on the library this test is linked with: it applies on an AMD CPU (and changes
// nothing elsewhere), a second call is a no-op, and a copy of the library with any one checked byte
// changed is refused. The copy is a private mapping of the 1.5 GB file: writing a byte copies one
// page, not the file.
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpuid.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "lite_c/lite_c.h"
#include "third_party/megenginelite/xbyak_amd_fix.h"

namespace {

int failures = 0;

void Expect(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

struct Library {
  std::string path;
  const unsigned char* base = nullptr;
};

Library Loaded() {
  Library library;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        const char* slash = std::strrchr(info->dlpi_name, '/');
        if (std::strcmp(slash ? slash + 1 : info->dlpi_name, "libmegengine_shared.so") != 0) return 0;
        auto* found = static_cast<Library*>(data);
        found->path = info->dlpi_name;
        found->base = reinterpret_cast<const unsigned char*>(info->dlpi_addr);
        return 1;
      },
      &library);
  return library;
}

bool CpuIsAmd() {
  unsigned int eax, ebx, ecx, edx;
  char vendor[13] = {};
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return false;
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  return std::strcmp(vendor, "AuthenticAMD") == 0;
}

// The fp32 Winograd site's Cpu object: x2APIC flag, then numCores_[0], numCores_[1].
struct Topology {
  unsigned flag, threads_per_core, cpus;
};
Topology WinogradCpuObject(const unsigned char* base) {
  const unsigned char* flag = base + 0x5cafbae8;
  Topology t{flag[0], 0, 0};
  std::memcpy(&t.threads_per_core, flag + 4, 4);
  std::memcpy(&t.cpus, flag + 8, 4);
  return t;
}

void CheckChangedCopies(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  struct stat info;
  if (fd < 0 || fstat(fd, &info) != 0) {
    Expect(false, "open " + path);
    return;
  }
  const size_t size = static_cast<size_t>(info.st_size);
  void* mapped = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd);
  if (mapped == MAP_FAILED) {
    Expect(false, "map " + path);
    return;
  }
  auto* image = static_cast<unsigned char*>(mapped);
  char reason[256];
  int status = megdeploy_xbyak_amd_fix_check_file(image, size, reason, sizeof reason);
  Expect(status == MEGDEPLOY_XBYAK_AMD_FIX_APPLIED, std::string("the unchanged file is the known build (") + reason + ")");

  // One byte in each checked place: the build id (found by its bytes), the error constructor's two
  // checks, the three topology reads (their flag displacement too).
  static const unsigned char kBuildIdStart[] = {0xd3, 0xb2, 0x95, 0xc3, 0x79, 0x3f, 0x08, 0x72};
  const void* id = memmem(image, size, kBuildIdStart, sizeof kBuildIdStart);
  Expect(id != nullptr, "the build id is in the file");
  const size_t offsets[] = {
      id ? static_cast<size_t>(static_cast<const unsigned char*>(id) - image) + 19 : 0,
      0xa695b90, 0xa695b9d + 2, 0xab2ff06, 0xab2ff06 + 4, 0xab5a1eb + 6, 0xab6a99f + 2};
  for (size_t offset : offsets) {
    image[offset] ^= 0x01;
    status = megdeploy_xbyak_amd_fix_check_file(image, size, reason, sizeof reason);
    Expect(status == MEGDEPLOY_XBYAK_AMD_FIX_UNKNOWN_LIBRARY && std::strncmp(reason, "not applied: ", 13) == 0 &&
               std::strchr(reason, '\n') == nullptr,
           "byte 0x" + [&] { char hex[32]; std::snprintf(hex, sizeof hex, "%zx", offset); return std::string(hex); }() +
               " changed: refused (" + reason + ")");
    image[offset] ^= 0x01;
  }
  status = megdeploy_xbyak_amd_fix_check_file(image, size / 2, reason, sizeof reason);
  Expect(status == MEGDEPLOY_XBYAK_AMD_FIX_UNKNOWN_LIBRARY, std::string("a truncated file is refused (") + reason + ")");
  status = megdeploy_xbyak_amd_fix_check_file(image + 1, size - 1, reason, sizeof reason);
  Expect(status == MEGDEPLOY_XBYAK_AMD_FIX_UNKNOWN_LIBRARY, std::string("not an ELF file: refused (") + reason + ")");
  munmap(mapped, size);
}

}  // namespace

int main() {
  int major = 0, minor = 0, patch = 0;
  LITE_get_version(&major, &minor, &patch);  // the link keeps libmegengine_shared.so loaded
  const Library library = Loaded();
  Expect(library.base != nullptr, "libmegengine_shared.so is loaded");
  if (library.base == nullptr) return 1;
  CheckChangedCopies(library.path);

  const Topology before = WinogradCpuObject(library.base);
  char reason[256];
  const int first = megdeploy_xbyak_amd_fix_apply(reason, sizeof reason);
  std::printf("first call: %d, %s\n", first, reason);
  const Topology after = WinogradCpuObject(library.base);
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (CpuIsAmd()) {
    Expect(before.flag == 0, "on AMD, Xbyak left the topology unread");
    Expect(first == MEGDEPLOY_XBYAK_AMD_FIX_APPLIED, "on AMD the fix applies");
    Expect(after.flag == 1 && after.threads_per_core == 1 && after.cpus == static_cast<unsigned>(cpus),
           "the topology reads 1 thread per core, " + std::to_string(cpus) + " CPUs");
  } else {
    Expect(first == MEGDEPLOY_XBYAK_AMD_FIX_NOT_NEEDED, "on another CPU nothing is needed");
    Expect(std::memcmp(&before, &after, sizeof before) == 0, "and nothing is written");
  }
  const int second = megdeploy_xbyak_amd_fix_apply(reason, sizeof reason);
  std::printf("second call: %d, %s\n", second, reason);
  Expect(second == (CpuIsAmd() ? MEGDEPLOY_XBYAK_AMD_FIX_ALREADY_APPLIED : MEGDEPLOY_XBYAK_AMD_FIX_NOT_NEEDED),
         "a second call changes nothing");
  const Topology again = WinogradCpuObject(library.base);
  Expect(std::memcmp(&after, &again, sizeof after) == 0, "the topology is as the first call left it");
  Expect(megdeploy_xbyak_amd_fix_apply(nullptr, 0) == second, "a NULL reason is allowed");

  std::printf("%s\n", failures ? "FAILED" : "all passed");
  return failures ? 1 : 0;
}

/* A runtime fix for megengine 1.13.0's libmegengine_shared.so on AMD CPUs (AVX-512 ones hang).
 *
 * The library's bundled oneDNN (v1.1) asks Xbyak for the core topology before it picks an AVX-512
 * convolution; Xbyak reads the topology only on Intel, so on AMD it raises its error 45, which
 * that Xbyak's own error constructor turns into exit(1) on the worker thread, and the program
 * hangs (docs/speed.md, "NCHW88 on AMD AVX-512"). The fix is data only: in the three Xbyak
 * `Cpu` objects behind that error, set the topology (1 thread per core, every CPU in one package)
 * and mark it read. It is applied only when the loaded library is exactly the one it was written
 * for (its build id and every code byte that reads those objects) and the CPU is AMD; otherwise
 * nothing is written and the reason says why.
 *
 * Call it after libmegengine_shared.so is loaded and before the first network runs (a preload
 * constructor runs too early). Thread-safe; a second call changes nothing. Shared by the C++
 * library (cc/lite/runner.cc) and, through ctypes, the Python one (py/mgedeploy/lite/xbyak_amd_fix.py).
 */
#ifndef THIRD_PARTY_MEGENGINELITE_XBYAK_AMD_FIX_H_
#define THIRD_PARTY_MEGENGINELITE_XBYAK_AMD_FIX_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum megdeploy_xbyak_amd_fix_status {
  MEGDEPLOY_XBYAK_AMD_FIX_APPLIED = 0,         /* written now */
  MEGDEPLOY_XBYAK_AMD_FIX_ALREADY_APPLIED = 1, /* an earlier call wrote it; nothing written */
  MEGDEPLOY_XBYAK_AMD_FIX_NOT_NEEDED = 2,      /* not an AMD CPU: Xbyak reads the topology itself */
  MEGDEPLOY_XBYAK_AMD_FIX_NOT_LOADED = 3,      /* libmegengine_shared.so is not in this process */
  MEGDEPLOY_XBYAK_AMD_FIX_UNKNOWN_LIBRARY = 4, /* another build, or bytes differ: nothing written */
};

/* Applies the fix to the libmegengine_shared.so loaded in this process. Returns a status above
 * and writes a one-line reason (no newline) into `reason` (may be NULL). */
int megdeploy_xbyak_amd_fix_apply(char* reason, size_t reason_size);

/* Only checks, with the same checks as megdeploy_xbyak_amd_fix_apply: is the library file mapped
 * at `file` (`size` bytes) the build the fix is for? Returns MEGDEPLOY_XBYAK_AMD_FIX_APPLIED when
 * it is (meaning "would apply"), MEGDEPLOY_XBYAK_AMD_FIX_UNKNOWN_LIBRARY with the reason otherwise.
 * Writes nothing. For tests, on a changed copy of the file. */
int megdeploy_xbyak_amd_fix_check_file(const unsigned char* file, size_t size, char* reason, size_t reason_size);

#ifdef __cplusplus
}
#endif

#endif /* THIRD_PARTY_MEGENGINELITE_XBYAK_AMD_FIX_H_ */

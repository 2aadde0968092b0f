// Keeps native libraries' output on fd 2 out of a program's one-line answers: the C++ twin of
// py/mgedeploy/cli/quiet.py, for programs only (the library never calls it).
//
// Lite logs its own copy of an error it also returns ("LITE[ERR] ... Lite exception: ..."), and
// libpng / libjpeg complain about damaged files on fd 2. So, for the whole process, fd 2 goes to a
// temp file while the program's own lines go to the real stderr (RealStderr()); at exit whatever
// native output is not known chatter is replayed there, unless the program reported a one-line
// error (DropNativeOutput()), for which that output would only be a second, longer copy.
#ifndef CC_CLI_QUIET_H_
#define CC_CLI_QUIET_H_

#include <cstdio>

namespace megdeploy::quiet {

// Routes fd 2 through the filter; idempotent. Call first in main.
void Install();
// The terminal's stderr: for the program's own lines, progress and a crash handler's last words.
// Before Install(), stderr itself.
std::FILE* RealStderr();
int RealStderrFd();
// After a one-line error: the native output behind it is not replayed.
void DropNativeOutput();

}  // namespace megdeploy::quiet

#endif  // CC_CLI_QUIET_H_

// Which files an image argument names: a file as it is, a folder recursively (image files only, by
// extension, in byte order of the paths). The twin of py/mgedeploy/image_files.py: the same
// extensions and the same order, so both programs list a folder identically.
#ifndef CC_IMAGE_FILES_H_
#define CC_IMAGE_FILES_H_

#include <string>
#include <vector>

namespace megdeploy {

bool IsImageName(const std::string& name);

// {path} for a file (or anything that is not a folder: reading it reports the problem); for a
// folder, its image files at any depth, sorted; symbolic links to folders are not followed. A
// folder with no image files gives {} (the programs report it as kNoImages).
inline constexpr char kNoImages[] = "no image files in this folder";
std::vector<std::string> ExpandImages(const std::string& path);

}  // namespace megdeploy

#endif  // CC_IMAGE_FILES_H_

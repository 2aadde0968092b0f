// Proves Debian's OpenCV links and works next to our flags: encode a synthetic image to PNG in
// memory, decode it, resize it, and check known pixels.
#include <cstdio>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

int main() {
  cv::Mat image(4, 6, CV_8UC3, cv::Scalar(10, 20, 30));
  image.at<cv::Vec3b>(0, 0) = cv::Vec3b(255, 0, 0);
  std::vector<uchar> png;
  if (!cv::imencode(".png", image, png)) {
    std::fprintf(stderr, "imencode failed\n");
    return 1;
  }
  cv::Mat decoded = cv::imdecode(png, cv::IMREAD_COLOR);
  if (decoded.rows != 4 || decoded.cols != 6 || decoded.at<cv::Vec3b>(0, 0) != cv::Vec3b(255, 0, 0) ||
      decoded.at<cv::Vec3b>(3, 5) != cv::Vec3b(10, 20, 30)) {
    std::fprintf(stderr, "PNG round trip changed the image\n");
    return 1;
  }
  cv::Mat resized;
  cv::resize(decoded, resized, cv::Size(12, 8), 0, 0, cv::INTER_LINEAR);
  // A constant region stays constant under bilinear resizing.
  if (resized.at<cv::Vec3b>(7, 11) != cv::Vec3b(10, 20, 30)) {
    std::fprintf(stderr, "resize changed a constant region\n");
    return 1;
  }
  std::printf("OpenCV %s: imencode/imdecode/resize OK\n", CV_VERSION);
  return 0;
}

// Data sets for training, evaluation and calibration: samples as float32 (images NHWC in
// [0, 1] = x / 255, like Keras), with integer class labels and/or float targets.
//
// Sources (see LoadDataset for the spec syntax): the Fashion-MNIST package, MNIST-style IDX
// files (gzip or not), .npz with x / y arrays, a folder of .npy inputs, an image folder with one
// subfolder per class, CSV. Every reader checks headers and sizes against the bytes present:
// a malformed file gives a Status naming it, never a crash.
#ifndef EDGEOPT_SRC_DATA_DATASET_H_
#define EDGEOPT_SRC_DATA_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "include/edgeopt/status.h"

namespace edgeopt {
namespace data {

struct Dataset {
  std::string name;               // for messages ("fashion-mnist:test", a path)
  std::vector<int> sample_shape;  // one sample, e.g. {28, 28, 1}
  int64_t size = 0;               // number of samples
  std::vector<float> x;           // size * sample_size() values
  std::vector<int32_t> labels;    // size values, or empty
  std::vector<int> target_shape;  // one target (float targets), e.g. {10} or {1}
  std::vector<float> targets;     // size * target_size() values, or empty
  int num_classes = 0;            // classes of `labels` (0 when unlabeled)
  std::vector<std::string> class_names;
  // x holds 8-bit pixels (IDX, images, uint8 .npy / .npz) as x / 255, or with
  // LoadOptions::raw_pixels as 0..255.
  bool pixels = false;

  int64_t sample_size() const;
  int64_t target_size() const;
  bool has_labels() const { return !labels.empty(); }
  bool has_targets() const { return !targets.empty(); }
  const float* sample(int64_t i) const { return x.data() + i * sample_size(); }
  // The samples at `indices`, in that order.
  Dataset Subset(const std::vector<int64_t>& indices) const;
  // Checks sizes agree and labels are in [0, num_classes).
  Status Validate() const;
};

// Keras' validation_split: the last `fraction` of the samples (before shuffling) become
// `validation`; `train` keeps the rest. fraction in [0, 1).
Status SplitValidation(Dataset* train, double fraction, Dataset* validation);

struct LoadOptions {
  // CSV: the label column (name or 0-based index); empty = the last column; "none" = no label.
  std::string csv_label_column;
  // Image folders: resize every image to height x width (0 = the first image's size).
  int image_height = 0;
  int image_width = 0;
  // Image folders: channels (0 = the first image's: 1 gray, 3 RGB; alpha is dropped).
  int image_channels = 0;
  // 8-bit pixels as their values 0..255 instead of x / 255: for a model that rescales its input
  // itself (a Rescaling(1/255) layer, as with Keras's image_dataset_from_directory).
  bool raw_pixels = false;
};

// A data set from a spec:
//   fashion-mnist[:train|:test]      the dataset-fashion-mnist package (train by default)
//   DIR[:train|:test]                a directory of MNIST-style IDX files
//                                    ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz])
//   IMAGES.idx[.gz][,LABELS.idx[.gz]] an IDX image file, labels beside it (images->labels)
//   FILE.npz[:train|:test]           arrays x,y (or x_train,y_train / x_test,y_test)
//   FILE.npy                         inputs only
//   FILE.csv                         numeric columns; the label column from LoadOptions
//   DIR/ with one subfolder per class (images .png/.jpg/.bmp/... or .npy): labeled by folder
//   DIR/ of .npy files               inputs only (calibration), sorted by name
StatusOr<Dataset> LoadDataset(const std::string& spec, const LoadOptions& options = {});

// The individual readers.
StatusOr<Dataset> LoadFashionMnist(const std::string& split);  // "train" or "test"
StatusOr<Dataset> LoadIdx(const std::string& images_path, const std::string& labels_path);
StatusOr<Dataset> LoadNpzDataset(const std::string& path, const std::string& split);
StatusOr<Dataset> LoadNpyFile(const std::string& path);
StatusOr<Dataset> LoadNpyFolder(const std::string& dir);
StatusOr<Dataset> LoadClassFolders(const std::string& dir, const LoadOptions& options);
StatusOr<Dataset> LoadCsv(const std::string& path, const std::string& label_column);

// Where the Fashion-MNIST package installs its files (EDGEOPT_FASHION_MNIST_DIR overrides).
std::string FashionMnistDir();

}  // namespace data
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_DATA_DATASET_H_

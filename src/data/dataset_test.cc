#include "src/data/dataset.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "src/data/batcher.h"
#include "src/data/idx.h"
#include "src/util/file_util.h"
#include "src/util/npy.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace data {
namespace {

std::vector<uint8_t> IdxBytes(uint8_t type, const std::vector<uint32_t>& dims,
                              const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    b.push_back(d >> 24);
    b.push_back((d >> 16) & 0xff);
    b.push_back((d >> 8) & 0xff);
    b.push_back(d & 0xff);
  }
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  ASSERT_TRUE(WriteFileAtomic(path, bytes).ok());
}

void WriteGz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
}

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("edgeopt_data_test"); }
  void TearDown() override { testing::RunCommand("rm -rf '" + dir_ + "'"); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

TEST_F(DatasetTest, IdxImagesAndLabelsGzipOrNot) {
  std::vector<uint8_t> pixels(3 * 2 * 2);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 20);
  WriteGz(Path("train-images-idx3-ubyte.gz"), IdxBytes(0x08, {3, 2, 2}, pixels));
  WriteBytes(Path("train-labels-idx1-ubyte"), IdxBytes(0x08, {3}, {2, 0, 1}));
  auto ds = LoadDataset(Path("train-images-idx3-ubyte.gz"));
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->size, 3);
  EXPECT_EQ(ds->sample_shape, (std::vector<int>{2, 2, 1}));
  EXPECT_FLOAT_EQ(ds->x[5], 100.0f / 255.0f);
  EXPECT_EQ(ds->labels, (std::vector<int32_t>{2, 0, 1}));
  EXPECT_EQ(ds->num_classes, 3);
  // The directory form picks the same pair.
  auto dir = LoadDataset(dir_ + ":train");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(dir->x, ds->x);
}

// Keras scales with `x / 255.0`: each of the 256 pixel values must be the correctly rounded
// quotient, bit for bit (a multiplication by 1/255 is one ulp off for 126 of them).
TEST_F(DatasetTest, PixelsAreExactlyDividedBy255) {
  std::vector<uint8_t> pixels(256);
  for (int i = 0; i < 256; ++i) pixels[i] = static_cast<uint8_t>(i);
  WriteBytes(Path("p-images-idx3-ubyte"), IdxBytes(0x08, {1, 16, 16}, pixels));
  WriteBytes(Path("p-labels-idx1-ubyte"), IdxBytes(0x08, {1}, {0}));
  auto idx = LoadIdx(Path("p-images-idx3-ubyte"), Path("p-labels-idx1-ubyte"));
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  NpyArray x;
  x.dtype = DType::kUInt8;
  x.shape = {1, 16, 16};
  x.data = pixels;
  NpyArray y;
  y.dtype = DType::kInt64;
  y.shape = {1};
  y.data.assign(8, 0);
  ASSERT_TRUE(WriteNpz(Path("p.npz"), {{"x", x}, {"y", y}}).ok());
  auto npz = LoadDataset(Path("p.npz"));
  ASSERT_TRUE(npz.ok()) << npz.status().ToString();
  for (int i = 0; i < 256; ++i) {
    const float want = static_cast<float>(i) / 255.0f;
    EXPECT_EQ(idx->x[i], want) << "idx pixel " << i;
    EXPECT_EQ(npz->x[i], want) << "npz pixel " << i;
  }
  EXPECT_TRUE(idx->pixels && npz->pixels);
  // raw_pixels: the 8-bit values themselves, exactly (a model that rescales them itself).
  LoadOptions raw;
  raw.raw_pixels = true;
  auto raw_idx = LoadDataset(Path("p-images-idx3-ubyte"), raw);
  auto raw_npz = LoadDataset(Path("p.npz"), raw);
  ASSERT_TRUE(raw_idx.ok() && raw_npz.ok());
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(raw_idx->x[i], static_cast<float>(i)) << i;
    EXPECT_EQ(raw_npz->x[i], static_cast<float>(i)) << i;
  }
  // Float arrays are not pixels: as they are.
  NpyArray f;
  f.dtype = DType::kFloat32;
  f.shape = {1, 2};
  const float values[2] = {0.25f, 3.0f};
  f.data.resize(8);
  std::memcpy(f.data.data(), values, 8);
  ASSERT_TRUE(WriteNpz(Path("f.npz"), {{"x", f}, {"y", y}}).ok());
  auto floats = LoadDataset(Path("f.npz"), raw);
  ASSERT_TRUE(floats.ok());
  EXPECT_FALSE(floats->pixels);
  EXPECT_EQ(floats->x, (std::vector<float>{0.25f, 3.0f}));
}

TEST_F(DatasetTest, HostileIdxHeadersAreErrorsNotCrashes) {
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    const char* expect;
  } cases[] = {
      {"short", {0, 0}, "too short"},
      {"magic", {1, 2, 8, 1, 0, 0, 0, 0}, "not an IDX"},
      {"type", IdxBytes(0x07, {1}, {0}), "data type"},
      {"rank0", {0, 0, 8, 0}, "rank 0"},
      {"rank9", {0, 0, 8, 9}, "rank 9"},
      {"header", {0, 0, 8, 3, 0, 0, 0, 1}, "truncated IDX header"},
      {"huge", IdxBytes(0x08, {0x7fffffff, 0x7fffffff, 0x7fffffff}, {}), "2^36"},
      // 3 * 2^34 * 2^30 is 3 * 2^64: a product that wrapped to 0 (parsers fuzzer, 2026-11-27).
      {"wraps", IdxBytes(0x0D, {1, 0x06000000, 512, 0x40000000, 0x40296900, 0x49382938}, {}),
       "2^36"},
      // A zero dimension makes no room for others beyond the limit.
      {"zero", IdxBytes(0x08, {0, 0x7fffffff, 0x7fffffff, 0x7fffffff}, {}), "2^36"},
      {"negative", IdxBytes(0x08, {0x80000000u}, {}), "dimension 0"},
      {"truncated", IdxBytes(0x08, {4, 4}, std::vector<uint8_t>(15)), "header says 16"},
      {"trailing", IdxBytes(0x0C, {2}, std::vector<uint8_t>(9)), "header says 8"},
  };
  for (const Case& c : cases) {
    auto r = ParseIdx(c.bytes.data(), c.bytes.size(), c.name);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << c.name << ": " << r.status().message();
    EXPECT_NE(r.status().message().find(c.name), std::string::npos);
  }
  // Corrupt gzip.
  std::vector<uint8_t> gz = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff};
  WriteBytes(Path("bad.idx.gz"), gz);
  EXPECT_FALSE(ReadIdx(Path("bad.idx.gz")).ok());
  // Labels that do not match the images.
  WriteBytes(Path("a-images-idx3-ubyte"), IdxBytes(0x08, {2, 1, 1}, {1, 2}));
  WriteBytes(Path("a-labels-idx1-ubyte"), IdxBytes(0x08, {3}, {1, 2, 3}));
  auto mismatch = LoadDataset(Path("a-images-idx3-ubyte"));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("3 labels"), std::string::npos)
      << mismatch.status().message();
}

TEST_F(DatasetTest, IdxTypesBigEndian) {
  // int16 [2] = {-2, 258}, float32 [1] = 1.5.
  const std::vector<uint8_t> s = IdxBytes(0x0B, {2}, {0xff, 0xfe, 0x01, 0x02});
  auto i16 = ParseIdx(s.data(), s.size(), "i16");
  ASSERT_TRUE(i16.ok());
  EXPECT_EQ(i16->At(0), -2.0);
  EXPECT_EQ(i16->At(1), 258.0);
  const std::vector<uint8_t> f = IdxBytes(0x0D, {1}, {0x3f, 0xc0, 0, 0});
  auto f32 = ParseIdx(f.data(), f.size(), "f32");
  ASSERT_TRUE(f32.ok());
  EXPECT_EQ(f32->At(0), 1.5);
}

TEST_F(DatasetTest, FashionMnistPackage) {
  if (!FileExists(FashionMnistDir() + "/t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  auto ds = LoadDataset("fashion-mnist:test");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->size, 10000);
  EXPECT_EQ(ds->sample_shape, (std::vector<int>{28, 28, 1}));
  EXPECT_EQ(ds->num_classes, 10);
  EXPECT_EQ(ds->labels[0], 9);  // the first test image is an ankle boot
  float lo = 1.0f, hi = 0.0f;
  for (float v : ds->x) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
  std::vector<int> counts(10, 0);
  for (int32_t l : ds->labels) ++counts[l];
  for (int c : counts) EXPECT_EQ(c, 1000);
}

TEST_F(DatasetTest, MissingFashionMnistNamesThePackage) {
  setenv("EDGEOPT_FASHION_MNIST_DIR", Path("nothing").c_str(), 1);
  auto ds = LoadDataset("fashion-mnist");
  unsetenv("EDGEOPT_FASHION_MNIST_DIR");
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("dataset-fashion-mnist"), std::string::npos);
}

TEST_F(DatasetTest, NpzWithXYAndSplits) {
  NpyArray x;
  x.dtype = DType::kUInt8;
  x.shape = {4, 2, 2, 1};
  x.data = {0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  NpyArray y;
  y.dtype = DType::kInt64;
  y.shape = {4};
  y.data.resize(32, 0);
  const int64_t labels[4] = {3, 1, 0, 2};
  std::memcpy(y.data.data(), labels, 32);
  ASSERT_TRUE(WriteNpz(Path("d.npz"), {{"x", x}, {"y", y}}).ok());
  auto ds = LoadDataset(Path("d.npz"));
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->size, 4);
  EXPECT_FLOAT_EQ(ds->x[1], 1.0f);
  EXPECT_FLOAT_EQ(ds->x[2], 0.2f);
  EXPECT_EQ(ds->labels, (std::vector<int32_t>{3, 1, 0, 2}));
  // x_test / y_test with float targets.
  NpyArray t;
  t.dtype = DType::kFloat32;
  t.shape = {4, 1};
  t.data.resize(16);
  const float tv[4] = {0.5f, -1.0f, 2.0f, 3.0f};
  std::memcpy(t.data.data(), tv, 16);
  ASSERT_TRUE(WriteNpz(Path("s.npz"), {{"x_test", x}, {"y_test", t}}).ok());
  auto st = LoadDataset(Path("s.npz") + ":test");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_FALSE(st->has_labels());
  EXPECT_EQ(st->targets, (std::vector<float>{0.5f, -1.0f, 2.0f, 3.0f}));
  auto missing = LoadDataset(Path("s.npz"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("x_test"), std::string::npos);
  // y with the wrong number of rows.
  y.shape = {3};
  y.data.resize(24);
  ASSERT_TRUE(WriteNpz(Path("bad.npz"), {{"x", x}, {"y", y}}).ok());
  EXPECT_FALSE(LoadDataset(Path("bad.npz")).ok());
}

TEST_F(DatasetTest, NpyFolderAndClassFolders) {
  ASSERT_TRUE(MakeDirectories(Path("calib")).ok());
  for (int i = 0; i < 3; ++i) {
    NpyArray a;
    a.dtype = DType::kFloat32;
    a.shape = {1, 2, 2};
    a.data.resize(16);
    float v[4] = {float(i), 1, 2, 3};
    std::memcpy(a.data.data(), v, 16);
    ASSERT_TRUE(WriteNpy(Path("calib/s" + std::to_string(i) + ".npy"), a).ok());
  }
  auto calib = LoadDataset(Path("calib"));
  ASSERT_TRUE(calib.ok()) << calib.status().ToString();
  EXPECT_EQ(calib->size, 3);
  EXPECT_EQ(calib->sample_shape, (std::vector<int>{2, 2}));
  EXPECT_FALSE(calib->has_labels());
  EXPECT_FLOAT_EQ(calib->x[8], 2.0f);

  // Class folders of PGM images (read by stb_image), the second one resized.
  ASSERT_TRUE(MakeDirectories(Path("imgs/cat")).ok());
  ASSERT_TRUE(MakeDirectories(Path("imgs/dog")).ok());
  std::string p1 = "P5\n2 2\n255\n";
  p1 += std::string("\x00\xff\x80\x40", 4);
  WriteText(Path("imgs/cat/a.pgm"), p1);
  std::string p2 = "P5\n4 4\n255\n" + std::string(16, '\xff');
  WriteText(Path("imgs/dog/b.pgm"), p2);
  WriteText(Path("imgs/dog/notes.txt"), "ignored");
  auto imgs = LoadDataset(Path("imgs"));
  if (!imgs.ok() && imgs.status().code() == StatusCode::kUnsupported) {
    GTEST_SKIP() << imgs.status().message();
  }
  ASSERT_TRUE(imgs.ok()) << imgs.status().ToString();
  EXPECT_EQ(imgs->size, 2);
  EXPECT_EQ(imgs->class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(imgs->labels, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(imgs->sample_shape, (std::vector<int>{2, 2, 1}));
  EXPECT_FLOAT_EQ(imgs->x[1], 1.0f);
  EXPECT_FLOAT_EQ(imgs->x[4], 1.0f);  // resized white stays white
  WriteText(Path("imgs/dog/c.png"), "not a png");
  auto broken = LoadDataset(Path("imgs"));
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("c.png"), std::string::npos);
}

TEST_F(DatasetTest, CsvLabelColumns) {
  WriteText(Path("t.csv"), "a,label,b\n1,0,2\n3,1,4.5\n\n");
  auto last = LoadDataset(Path("t.csv"));
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(last->sample_shape, (std::vector<int>{2}));
  EXPECT_TRUE(last->has_targets());  // 4.5 is not a class index: regression target
  LoadOptions by_name;
  by_name.csv_label_column = "label";
  auto named = LoadDataset(Path("t.csv"), by_name);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->labels, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(named->x, (std::vector<float>{1, 2, 3, 4.5f}));
  LoadOptions by_index;
  by_index.csv_label_column = "0";
  EXPECT_EQ(LoadDataset(Path("t.csv"), by_index)->labels, (std::vector<int32_t>{1, 3}));
  WriteText(Path("bad.csv"), "1,2\n3,x\n");
  auto bad = LoadDataset(Path("bad.csv"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.csv:2"), std::string::npos) << bad.status().message();
  WriteText(Path("ragged.csv"), "1,2\n3\n");
  EXPECT_FALSE(LoadDataset(Path("ragged.csv")).ok());
}

TEST_F(DatasetTest, SpecErrors) {
  auto missing = LoadDataset(Path("nope.npz"));
  ASSERT_FALSE(missing.ok());
  auto unknown = LoadDataset("no-such-thing");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("fashion-mnist"), std::string::npos);
  EXPECT_FALSE(LoadDataset("fashion-mnist:validation").ok() &&
               LoadDataset("fashion-mnist:validation")->size > 0);
}

Dataset Counting(int n) {
  Dataset ds;
  ds.name = "counting";
  ds.sample_shape = {2, 3, 1};
  ds.size = n;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 6; ++j) ds.x.push_back(static_cast<float>(i * 6 + j));
    ds.labels.push_back(i % 3);
  }
  ds.num_classes = 3;
  return ds;
}

TEST(BatcherTest, SeededShuffleCoversEverySampleWithPartialLastBatch) {
  Dataset ds = Counting(10);
  Batcher a(ds, 4, true, 7), b(ds, 4, true, 7), c(ds, 4, true, 8);
  EXPECT_EQ(a.num_batches(), 3);
  std::vector<float> xa(24), xb(24), xc(24);
  std::vector<int32_t> la(4), lb(4), lc(4);
  std::vector<int> seen(10, 0);
  std::vector<int> sizes;
  bool differs = false;
  for (;;) {
    const int n = a.Next(xa.data(), la.data(), nullptr);
    const int m = b.Next(xb.data(), lb.data(), nullptr);
    c.Next(xc.data(), lc.data(), nullptr);
    ASSERT_EQ(n, m);
    if (n == 0) break;
    sizes.push_back(n);
    EXPECT_EQ(xa, xb);
    differs = differs || xa != xc;
    for (int i = 0; i < n; ++i) {
      const int idx = static_cast<int>(xa[i * 6]) / 6;
      ++seen[idx];
      EXPECT_EQ(la[i], idx % 3);
    }
  }
  EXPECT_EQ(sizes, (std::vector<int>{4, 4, 2}));
  for (int s : seen) EXPECT_EQ(s, 1);
  EXPECT_TRUE(differs);
  // A new epoch gives another order.
  a.StartEpoch(1);
  b.StartEpoch(0);
  a.Next(xa.data(), nullptr, nullptr);
  b.Next(xb.data(), nullptr, nullptr);
  EXPECT_NE(xa, xb);
}

TEST(BatcherTest, AugmentFlipAndShift) {
  Dataset ds = Counting(64);
  AugmentOptions flip;
  flip.flip_horizontal = true;
  Batcher f(ds, 64, false, 1, flip);
  std::vector<float> x(64 * 6);
  ASSERT_EQ(f.Next(x.data(), nullptr, nullptr), 64);
  int flipped = 0;
  for (int i = 0; i < 64; ++i) {
    const float* s = x.data() + i * 6;
    const float base = i * 6.0f;
    const bool same = s[0] == base && s[2] == base + 2;
    const bool mirrored = s[0] == base + 2 && s[2] == base && s[3] == base + 5;
    EXPECT_TRUE(same || mirrored) << i;
    flipped += mirrored;
  }
  EXPECT_GT(flipped, 10);
  EXPECT_LT(flipped, 54);
  AugmentOptions shift;
  shift.max_shift = 1;
  Batcher s(ds, 64, false, 1, shift);
  ASSERT_EQ(s.Next(x.data(), nullptr, nullptr), 64);
  int zeros = 0;
  for (int i = 0; i < 64; ++i) {
    const float* v = x.data() + i * 6;
    for (int j = 0; j < 6; ++j) {
      if (v[j] == 0.0f && i > 0) ++zeros;
      // Every value is either zero fill or a pixel of the same image.
      EXPECT_TRUE(v[j] == 0.0f || (v[j] >= i * 6 && v[j] < i * 6 + 6)) << i;
    }
  }
  EXPECT_GT(zeros, 0);
}

// A model's augmentation layers (AugmentOptions::layers) apply to every training sample, seeded
// by the sample's position and the epoch.
TEST(BatcherTest, AugmentationLayersApplyPerSampleAndEpoch) {
  Dataset ds = Counting(64);  // 64 samples of 2 x 3 x 1
  AugmentOptions options;
  ImageAugmentation brightness;
  brightness.kind = ImageAugmentation::Kind::kBrightness;
  brightness.lower = -0.1f;
  brightness.upper = 0.1f;
  brightness.value_lo = -1000.0f;
  brightness.value_hi = 1000.0f;  // deltas of up to 200
  options.layers = {brightness};
  Batcher b(ds, 64, false, 7, options);
  std::vector<float> x(64 * 6), again(64 * 6), next_epoch(64 * 6);
  ASSERT_EQ(b.Next(x.data(), nullptr, nullptr), 64);
  b.StartEpoch(0);
  ASSERT_EQ(b.Next(again.data(), nullptr, nullptr), 64);
  b.StartEpoch(1);
  ASSERT_EQ(b.Next(next_epoch.data(), nullptr, nullptr), 64);
  EXPECT_EQ(x, again);
  EXPECT_NE(x, next_epoch);
  std::set<float> deltas;
  for (int i = 0; i < 64; ++i) {
    const float delta = x[i * 6] - i * 6.0f;
    EXPECT_LE(std::fabs(delta), 200.0f);
    for (int j = 1; j < 6; ++j) EXPECT_NEAR(x[i * 6 + j] - (i * 6.0f + j), delta, 1e-3f) << i;
    deltas.insert(delta);
  }
  EXPECT_GT(deltas.size(), 60u);  // one draw per sample
}

TEST(DatasetSplitTest, ValidationSplitTakesTheTail) {
  Dataset ds = Counting(10);
  Dataset val;
  ASSERT_TRUE(SplitValidation(&ds, 0.2, &val).ok());
  EXPECT_EQ(ds.size, 8);
  EXPECT_EQ(val.size, 2);
  EXPECT_EQ(val.x[0], 48.0f);
  EXPECT_EQ(val.labels, (std::vector<int32_t>{2, 0}));
  EXPECT_FALSE(SplitValidation(&ds, 1.0, &val).ok());
}

}  // namespace
}  // namespace data
}  // namespace edgeopt

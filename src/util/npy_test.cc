#include "src/util/npy.h"

#include <gtest/gtest.h>

#include <cstring>

#include "src/util/file_util.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace {

TEST(Npy, RoundTrip) {
  NpyArray a;
  a.dtype = DType::kInt16;
  a.shape = {2, 3};
  a.data.resize(12);
  for (int i = 0; i < 6; ++i) {
    const int16_t v = static_cast<int16_t>(i * 1000 - 2500);
    std::memcpy(a.data.data() + 2 * i, &v, 2);
  }
  const std::vector<uint8_t> bytes = EncodeNpy(a);
  EXPECT_EQ((bytes.size() - a.data.size()) % 64, 0u);
  auto b = ParseNpy(bytes.data(), bytes.size(), "x.npy");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->dtype, DType::kInt16);
  EXPECT_EQ(b->shape, a.shape);
  EXPECT_EQ(b->data, a.data);
}

TEST(Npy, ReadsCorpusSample) {
  auto a = ReadNpy(testing::CorpusPath("edge-vs-cloud-mnist/testdata/test_sample.npy"));
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->dtype, DType::kFloat32);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{1, 28, 28, 1}));
  float max = 0;
  for (int i = 0; i < 784; ++i) max = std::max(max, a->Data<float>()[i]);
  EXPECT_LE(max, 1.0f);
  EXPECT_GT(max, 0.5f);
}

TEST(Npy, RejectsHostileHeaders) {
  NpyArray a;
  a.dtype = DType::kFloat32;
  a.shape = {4};
  a.data.resize(16);
  std::vector<uint8_t> good = EncodeNpy(a);
  // Every truncation fails cleanly.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(ParseNpy(good.data(), n, "t.npy").ok()) << n;
  }
  auto with_header = [](const std::string& h) {
    std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(h.size()),
                              0};
    b.insert(b.end(), h.begin(), h.end());
    return b;
  };
  for (const char* h : {"{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
                        "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                        "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999,), }",
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, x), }",
                        // 2^40 * 2^24 is 2^64: a product that wraps to 0.
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, "
                        "16777216, 3), }",
                        // A zero dimension makes no room for others beyond the limit.
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, "
                        "1099511627776, 0), }",
                        "{'descr': '<f4', 'fortran_order': False}"}) {
    auto b = with_header(h);
    auto r = ParseNpy(b.data(), b.size(), "bad.npy");
    EXPECT_FALSE(r.ok()) << h;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("bad.npy"), std::string::npos);
    }
  }
}

TEST(Npy, ParsesHeadersInPlace) {
  auto parse = [](const std::string& h, size_t data_bytes) {
    std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(h.size()),
                              0};
    b.insert(b.end(), h.begin(), h.end());
    b.resize(b.size() + data_bytes);
    return ParseNpy(b.data(), b.size(), "h.npy");
  };
  auto a = parse("{'descr':'|u1','fortran_order':False,'shape':(2, 3)}", 6);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->dtype, DType::kUInt8);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  auto scalar = parse("{'shape': (), 'fortran_order': False, 'descr': '<i8', }", 8);
  ASSERT_TRUE(scalar.ok()) << scalar.status().message();
  EXPECT_EQ(scalar->dtype, DType::kInt64);
  EXPECT_TRUE(scalar->shape.empty());
  for (const char* h : {"{'descr': '<f4', 'fortran_order': Fals", "{'descr': '<f4', 'shape'",
                        "{descr: '<f4', 'fortran_order': False, 'shape': (1,), }",
                        "{'descr': '<f4 ', 'fortran_order': False, 'shape': (1,), }",
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,"}) {
    EXPECT_FALSE(parse(h, 64).ok()) << h;
  }
  auto bad = parse("{'descr': '<f4xyz', 'fortran_order': False, 'shape': (1,), }", 4);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("dtype '<f4xyz'"), std::string::npos);
}

TEST(Npz, RoundTrip) {
  const std::string dir = testing::MakeTempDir("npz");
  NpyArray x;
  x.dtype = DType::kUInt8;
  x.shape = {2, 2};
  x.data = {1, 2, 3, 4};
  NpyArray y;
  y.dtype = DType::kInt64;
  y.shape = {2};
  y.data.resize(16, 0);
  y.data[0] = 7;
  ASSERT_TRUE(WriteNpz(dir + "/d.npz", {{"x", x}, {"y", y}}).ok());
  auto m = ReadNpz(dir + "/d.npz");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->at("x").data, x.data);
  EXPECT_EQ(m->at("y").data, y.data);
}

}  // namespace
}  // namespace edgeopt

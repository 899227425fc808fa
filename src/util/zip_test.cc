#include "src/util/zip.h"

#include <gtest/gtest.h>

#include <random>

#include "src/util/file_util.h"
#include "tests/test_util.h"

namespace edgeopt {
namespace {

TEST(Zip, RoundTripStoredAndDeflated) {
  ZipWriter w;
  std::string text(5000, 'a');
  for (size_t i = 0; i < text.size(); i += 7) text[i] = 'b';
  ASSERT_TRUE(w.Add("config.json", text.data(), text.size()).ok());
  const std::vector<uint8_t> raw = {1, 2, 3, 0, 255};
  ASSERT_TRUE(w.Add("dir/raw.bin", raw.data(), raw.size(), /*store=*/true).ok());
  ASSERT_TRUE(w.Add("empty", nullptr, 0).ok());
  const std::vector<uint8_t> bytes = w.Finish();
  EXPECT_LT(bytes.size(), 1500u);  // the text compresses
  auto r = ZipReader::Open(bytes, "t.zip");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->entries().size(), 3u);
  auto a = r->Read("config.json");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(std::string(a->begin(), a->end()), text);
  auto b = r->Read("dir/raw.bin");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, raw);
  auto c = r->Read("empty");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->empty());
  EXPECT_FALSE(r->Read("missing").ok());
  EXPECT_FALSE(r->Read("config.json", 100).ok());  // over the size bound
}

TEST(Zip, ReadsAKerasFileWrittenByPython) {
  auto r = ZipReader::OpenFile(testing::CorpusPath("edge-vs-cloud-mnist/mnist_model.keras"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->Has("config.json"));
  EXPECT_TRUE(r->Has("metadata.json"));
  EXPECT_TRUE(r->Has("model.weights.h5"));
  auto config = r->Read("config.json");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ((*config)[0], '{');
  auto weights = r->Read("model.weights.h5");
  ASSERT_TRUE(weights.ok()) << weights.status().message();
  EXPECT_EQ(std::string(weights->begin() + 1, weights->begin() + 4), "HDF");
}

TEST(Zip, DamagedArchivesFailCleanly) {
  auto file = ReadFileBytes(testing::CorpusPath("edge-vs-cloud-mnist/mnist_model.keras"));
  ASSERT_TRUE(file.ok());
  // Truncations.
  int opened = 0;
  for (size_t cut : {size_t{0}, size_t{10}, size_t{100}, file->size() / 2, file->size() - 1}) {
    auto r = ZipReader::Open(std::vector<uint8_t>(file->begin(), file->begin() + cut), "cut");
    if (!r.ok()) continue;
    ++opened;
    for (const auto& e : r->entries()) (void)r->Read(e.name);
  }
  EXPECT_EQ(opened, 0);
  // Random byte changes: every read either succeeds or fails with a Status.
  std::mt19937 rng(11);
  int crc_failures = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<uint8_t> m = *file;
    for (int k = 0; k < 4; ++k) m[rng() % m.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    auto r = ZipReader::Open(std::move(m), "flipped");
    if (!r.ok()) continue;
    for (const auto& e : r->entries()) {
      auto d = r->Read(e.name);
      if (!d.ok() && d.status().message().find("CRC") != std::string::npos) ++crc_failures;
    }
  }
  EXPECT_GT(crc_failures, 0);  // damaged contents are detected, not returned
}

}  // namespace
}  // namespace edgeopt

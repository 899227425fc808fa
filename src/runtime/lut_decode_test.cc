// LUT decoding (TFLM's compression format) against the examples of TFLM's
// docs/compression.md, and its checks of damaged data.
#include "src/runtime/lut_decode.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace edgeopt {
namespace rt {
namespace {

// "Example (bit width 3): 1110000110100000 represents the indices 7, 0, 3, 2".
TEST(LutDecode, IndicesAreMostSignificantBitFirst) {
  const uint8_t packed[] = {0xE1, 0xA0};
  EXPECT_EQ(LutIndexAt(packed, 0, 3), 7u);
  EXPECT_EQ(LutIndexAt(packed, 1, 3), 0u);
  EXPECT_EQ(LutIndexAt(packed, 2, 3), 3u);
  EXPECT_EQ(LutIndexAt(packed, 3, 3), 2u);
  EXPECT_EQ(LutIndexBytes(4, 3), 2u);
  EXPECT_EQ(LutIndexBytes(10, 3), 4u);
  EXPECT_EQ(LutIndexBytes(8, 1), 1u);
  EXPECT_EQ(LutIndexBytes(9, 1), 2u);
}

std::vector<int16_t> Decode(const LutLayout& layout, const std::vector<uint8_t>& packed,
                            const std::vector<int16_t>& values, Status* status) {
  std::vector<int16_t> out(static_cast<size_t>(layout.elements), -1);
  *status = DecodeLut(layout, packed.data(), packed.size(),
                      reinterpret_cast<const uint8_t*>(values.data()), values.size() * 2,
                      reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

// The doc's INT16 example: one table [99, 2, 10, 4, 1, 7], bit string
// 00101101101010010100001000101100.
TEST(LutDecode, OneTable) {
  LutLayout layout;
  layout.elements = 10;
  layout.element_bytes = 2;
  layout.bits = 3;
  Status st;
  const std::vector<int16_t> out =
      Decode(layout, {0x2D, 0xA9, 0x42, 0x2C}, {99, 2, 10, 4, 1, 7}, &st);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out, (std::vector<int16_t>{2, 4, 4, 10, 1, 7, 99, 10, 2, 4}));
}

// The doc's per-channel example: two channels along the first axis, tables [1, 10, 2, 4, 0]
// (zero padded) and [99, 10, 2, 7, 4], bit string 01001101100100001100000101010000.
TEST(LutDecode, TablePerChannel) {
  LutLayout layout;
  layout.elements = 10;
  layout.element_bytes = 2;
  layout.bits = 3;
  layout.channels = 2;
  Status st;
  const std::vector<int16_t> out =
      Decode(layout, {0x4D, 0x90, 0xC1, 0x50}, {1, 10, 2, 4, 0, 99, 10, 2, 7, 4}, &st);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out, (std::vector<int16_t>{2, 4, 4, 10, 1, 7, 99, 10, 2, 4}));
  // Along the last axis the channels alternate: element i uses table i % 2.
  layout.last_axis = true;
  const std::vector<int16_t> alt =
      Decode(layout, {0x4D, 0x90, 0xC1, 0x50}, {1, 10, 2, 4, 0, 99, 10, 2, 7, 4}, &st);
  ASSERT_TRUE(st.ok());
  // indices 2 3 3 1 0 3 0 1 2 4 on tables 0 1 0 1 ...
  EXPECT_EQ(alt, (std::vector<int16_t>{2, 7, 4, 10, 1, 7, 1, 10, 2, 4}));
}

TEST(LutDecode, DamagedDataIsAnError) {
  LutLayout layout;
  layout.elements = 4;
  layout.element_bytes = 2;
  layout.bits = 3;
  Status st;
  // Index 7 with a table of 6 values.
  Decode(layout, {0xE1, 0xA0}, {1, 2, 3, 4, 5, 6}, &st);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("element 0 has index 7; its table has 6 values"), std::string::npos)
      << st.ToString();
  // Too few index bytes.
  Decode(layout, {0xE1}, {1, 2, 3, 4, 5, 6, 7, 8}, &st);
  EXPECT_NE(st.ToString().find("4 elements, 1 channels, 3-bit indices in 1 bytes"),
            std::string::npos)
      << st.ToString();
  // Value bytes that do not make whole tables.
  layout.channels = 2;
  Decode(layout, {0x00, 0x00}, {1, 2, 3}, &st);
  EXPECT_NE(st.ToString().find("2 channels, 3-bit indices in 2 bytes, 6 bytes of values"),
            std::string::npos)
      << st.ToString();
  layout.channels = 1;
  layout.bits = 8;
  Decode(layout, {0, 0, 0, 0}, {1}, &st);
  EXPECT_NE(st.ToString().find("8-bit indices"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace rt
}  // namespace edgeopt

// Tests of Datum records: round trips and byte-level compatibility with
// Caffe's Datum layout (field numbers 1-7).
#include "data/datum.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace banyan {
namespace {

// Appends a protobuf varint.
void varint(std::string* s, uint64_t v) {
  while (v >= 0x80) {
    s->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  s->push_back(static_cast<char>(v));
}

// Appends field `number` with wire type `wire` followed by nothing.
void tag(std::string* s, int number, int wire) { varint(s, (number << 3) | wire); }

std::string make_pixels(int n, int seed) {
  std::string p(n, '\0');
  for (int i = 0; i < n; ++i) p[i] = static_cast<char>((i * 37 + seed * 11) % 253 + 1);
  return p;
}

TEST(DatumTest, RawRoundTrip) {
  DatumRecord r;
  r.channels = 3;
  r.height = 2;
  r.width = 4;
  r.data = make_pixels(24, 1);
  r.label = 7;
  DatumRecord back;
  ASSERT_TRUE(parse_datum(serialize_datum(r), &back).ok());
  EXPECT_EQ(back.channels, 3);
  EXPECT_EQ(back.height, 2);
  EXPECT_EQ(back.width, 4);
  EXPECT_EQ(back.data, r.data);
  EXPECT_EQ(back.label, 7);
  EXPECT_FALSE(back.encoded);
  EXPECT_TRUE(back.float_data.empty());
}

TEST(DatumTest, FloatAndEncodedRoundTrip) {
  DatumRecord r;
  r.channels = 1;
  r.height = 1;
  r.width = 3;
  r.float_data = {0.5f, -1.25f, 3.0f};
  r.label = -2;
  DatumRecord back;
  ASSERT_TRUE(parse_datum(serialize_datum(r), &back).ok());
  EXPECT_EQ(back.float_data, r.float_data);
  EXPECT_EQ(back.label, -2);
  EXPECT_TRUE(back.data.empty());

  DatumRecord e;
  e.data = "\xFF\xD8\xFF payload";
  e.encoded = true;
  e.label = 3;
  ASSERT_TRUE(parse_datum(serialize_datum(e), &back).ok());
  EXPECT_TRUE(back.encoded);
  EXPECT_EQ(back.data, e.data);
  // Parsing into a used record replaces all of it.
  EXPECT_TRUE(back.float_data.empty());
  EXPECT_EQ(back.channels, 0);
}

TEST(DatumTest, CaffeLayoutBytes) {
  // channels=1 (varint), height=2, width=3, data=4 (bytes), label=5,
  // float_data=6 (fixed32, unpacked), encoded=7.
  const std::string pixels = make_pixels(6, 3);
  std::string b;
  tag(&b, 1, 0);
  varint(&b, 1);
  tag(&b, 2, 0);
  varint(&b, 2);
  tag(&b, 3, 0);
  varint(&b, 3);
  tag(&b, 4, 2);
  varint(&b, pixels.size());
  b += pixels;
  tag(&b, 5, 0);
  varint(&b, 9);
  const float floats[2] = {1.5f, -0.25f};
  for (float f : floats) {
    tag(&b, 6, 5);
    char raw[4];
    std::memcpy(raw, &f, 4);  // little-endian host, as protobuf's wire format
    b.append(raw, 4);
  }
  tag(&b, 7, 0);
  varint(&b, 1);

  DatumRecord r;
  ASSERT_TRUE(parse_datum(b, &r).ok());
  EXPECT_EQ(r.channels, 1);
  EXPECT_EQ(r.height, 2);
  EXPECT_EQ(r.width, 3);
  EXPECT_EQ(r.data, pixels);
  EXPECT_EQ(r.label, 9);
  ASSERT_EQ(r.float_data.size(), 2u);
  EXPECT_EQ(r.float_data[0], 1.5f);
  EXPECT_EQ(r.float_data[1], -0.25f);
  EXPECT_TRUE(r.encoded);
  // Serialisation writes the fields in number order: the same bytes back.
  EXPECT_EQ(serialize_datum(r), b);
}

TEST(DatumTest, GarbageIsDataLoss) {
  DatumRecord r;
  // Field 4 (bytes) claiming 100 bytes with only 2 present.
  std::string bad;
  tag(&bad, 4, 2);
  varint(&bad, 100);
  bad += "ab";
  Status s = parse_datum(bad, &r);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("Datum"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace banyan

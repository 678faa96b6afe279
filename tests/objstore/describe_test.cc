// What `objects ls` and an upload print (objstore/describe.h): a change here is a change of output.
#include "objstore/describe.h"

#include <gtest/gtest.h>

namespace pgm::objstore {
namespace {

TEST(Describe, ObjectLinesAlignSizes) {
  const std::vector<ObjectInfo> keys = {{"p/header", 45}, {"p/data/000000", 1234567}};
  const std::vector<std::string> want = {"          45  p/header", "     1234567  p/data/000000"};
  EXPECT_EQ(object_lines(keys), want);
}

TEST(Describe, UploadStateWithAndWithoutManifest) {
  const Location at{"s3", "bucket", "p"};
  const std::vector<ObjectInfo> keys = {{"p/header", 45}, {"p/data/000000", 1000}};
  EXPECT_EQ(upload_state_line(at, keys, nullptr), "s3://bucket/p: 2 objects, no manifest (an upload that has not finished, or was killed)");
  Manifest m;
  m.header.snapshot_name = "tank/db@base";
  m.header.snapshot_guid = 42;
  m.objects = 1;
  m.trailer.chunk_count = 3;
  m.trailer.total_bytes = 3000;
  EXPECT_EQ(upload_state_line(at, keys, &m), "complete: tank/db@base (guid 42), 1 objects, 3 chunks, 3000 stream bytes; 1045 bytes stored");
}

TEST(Describe, StoredLine) {
  UploadSummary s;
  s.objects = 5;
  s.uploaded = 3;
  s.kept = 2;
  EXPECT_EQ(stored_line(s, "gs://b/p"), "stored 5 objects and a manifest at gs://b/p (3 uploaded, 2 kept from an earlier run)");
}

}  // namespace
}  // namespace pgm::objstore

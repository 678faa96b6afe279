// What `pgmigrate objects ls` and an upload to object storage show, worded here beside the
// object layout so that the cli only prints text lines (without their newline). Pure.
#pragma once

#include <string>
#include <vector>

#include "objstore/client.h"
#include "objstore/location.h"
#include "objstore/relay.h"

namespace pgm::objstore {

// `objects ls`: one "SIZE  KEY" line per object.
std::vector<std::string> object_lines(const std::vector<ObjectInfo>& keys);
// `objects ls`'s last line: the manifest's snapshot and counts, or that there is none (an
// upload that has not finished). `manifest`: null when the upload has none.
std::string upload_state_line(const Location& at, const std::vector<ObjectInfo>& keys, const Manifest* manifest);

// After an upload: how many objects are stored at `url`, and how many this run put.
std::string stored_line(const UploadSummary& stored, const std::string& url);

}  // namespace pgm::objstore

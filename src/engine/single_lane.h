// Drivers for a transport with one ordered lane (a pipe, stdin/stdout): the whole stream
// goes through one ByteWriter / ByteReader.
#pragma once

#include <functional>

#include "engine/recv_pipeline.h"
#include "engine/send_pipeline.h"
#include "stream/reader.h"

namespace pgm::engine {

// Writes the header, every chunk in order, then the trailer. `before_trailer` runs when the
// source is exhausted; the trailer is written only if it returns Ok (e.g. `zfs send` exited
// 0), so a producer that died mid-stream never yields a complete-looking stream.
Status pump_to_writer(SendPipeline& pipeline, const stream::StreamHeader& header, ByteWriter& out,
                      const std::function<Status()>& before_trailer, const CancelToken& cancel);

// Feeds every frame of `reader` (header already read) into `pipeline` and finishes it with
// the trailer. On any error the pipeline is abandoned: its held-back chunk is never written.
Status pump_from_reader(stream::StreamReader& reader, RecvPipeline& pipeline);

}  // namespace pgm::engine

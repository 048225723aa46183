// Internal to the config loader: reading a prototxt file, parsing it against
// the schema with every protobuf complaint turned into a Status that names
// file:line:col, and `Scope`, which turns a field of a parsed message back
// into the place it was written so later checks can name it too.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <string>

#include "engine/core/config.h"
#include "engine/core/status.h"

namespace banyan::config_internal {

using ParseInfoTree = google::protobuf::TextFormat::ParseInfoTree;

// Reads the whole file at `path`.  NotFound when it does not exist, IoError
// when it cannot be read; `what` ("net file") prefixes the message.
Status read_text_file(const std::string& path, const std::string& what, std::string* text);

// Parses protobuf text format into `message` (cleared first), recording where
// each field was written into `tree`.  Syntax errors, unknown fields, unknown
// enum values and wrong value types come back as InvalidArgument
// "<filename>:<line>:<col>: <what was wrong> near '<source line>'" (1-based);
// nothing is printed.
Status parse_text(const std::string& text, const std::string& filename,
                  google::protobuf::Message* message, ParseInfoTree* tree);

// A parsed message together with where it sits in its file.  Messages built
// from a Scope read "<file>:<line>:<col>: <context><path><field> <what>",
// e.g. "net.prototxt:23:5: layer 'conv1': convolution_param.kernel_size must
// be > 0, got 0".  Fields that were not written (defaults) are reported at the
// enclosing block.  Field names must exist in the message type (CHECKed).
class Scope {
 public:
  // `tree` may be null (no locations known).  `block` is where the message
  // itself starts; `context` ("layer 'conv1': ") opens every message.
  Scope(const std::string& file, const google::protobuf::Descriptor* descriptor,
        const ParseInfoTree* tree, SourceLocation block, std::string context);

  // Where the value of `field` was written (`index` for repeated fields; -1
  // stands for the first value); the block's own location when it was not.
  SourceLocation where(const std::string& field, int index = -1) const;
  // The scope of the message-typed `field`; its path gains "field.".
  Scope nested(const std::string& field, int index = -1) const;

  // InvalidArgument: a value the user wrote is wrong.
  Status invalid(const std::string& field, const std::string& what, int index = -1) const;
  // Unimplemented: a valid setting this engine cannot honour.
  Status unsupported(const std::string& field, const std::string& what, int index = -1) const;
  // LOG(WARNING) "<file:line:col>: ignored: <context><path><field> (<why>)".
  void ignored(const std::string& field, const std::string& why) const;

  const SourceLocation& block() const { return block_; }
  const std::string& context() const { return context_; }

 private:
  const google::protobuf::FieldDescriptor* field_descriptor(const std::string& name) const;
  std::string prefix(const std::string& field, int index) const;

  std::string file_;
  const google::protobuf::Descriptor* descriptor_;
  const ParseInfoTree* tree_;
  SourceLocation block_;
  std::string context_;
  std::string path_;
};

}  // namespace banyan::config_internal

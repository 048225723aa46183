// Reading and parsing prototxt text with located, quiet errors (see
// text_parse.h).  Protobuf reports errors through an ErrorCollector with
// 0-based positions; they are kept (first one wins) and returned 1-based.
#include "engine/config/text_parse.h"

#include <glog/logging.h>
#include <google/protobuf/io/tokenizer.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace banyan::config_internal {
namespace {

namespace gpb = google::protobuf;

// Keeps the first error; warnings go to the log with their place.
class FirstErrorCollector : public gpb::io::ErrorCollector {
 public:
  explicit FirstErrorCollector(const std::string& filename) : filename_(filename) {}

  void AddError(int line, gpb::io::ColumnNumber column, const std::string& message) override {
    if (has_error_) return;
    has_error_ = true;
    line_ = line;
    column_ = column;
    message_ = message;
  }
  void AddWarning(int line, gpb::io::ColumnNumber column, const std::string& message) override {
    LOG(WARNING) << filename_ << ":" << line + 1 << ":" << column + 1 << ": " << message;
  }

  bool has_error() const { return has_error_; }
  int line() const { return line_; }
  int column() const { return column_; }
  const std::string& message() const { return message_; }

 private:
  std::string filename_;
  bool has_error_ = false;
  int line_ = 0;
  int column_ = 0;
  std::string message_;
};

// Line `line` (0-based) of `text`, trimmed; "" when out of range.
std::string source_line(const std::string& text, int line) {
  size_t begin = 0;
  for (int i = 0; i < line; ++i) {
    begin = text.find('\n', begin);
    if (begin == std::string::npos) return "";
    ++begin;
  }
  size_t end = text.find('\n', begin);
  std::string s = text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  const char* kSpace = " \t\r";
  size_t first = s.find_first_not_of(kSpace);
  if (first == std::string::npos) return "";
  s = s.substr(first, s.find_last_not_of(kSpace) - first + 1);
  constexpr size_t kMaxShown = 80;
  if (s.size() > kMaxShown) s = s.substr(0, kMaxShown) + "...";
  return s;
}

// Protobuf columns count a tab as reaching the next multiple of 8.
int column_of(const std::string& text, size_t line_begin, size_t offset) {
  int column = 0;
  for (size_t i = line_begin; i < offset; ++i) {
    column = text[i] == '\t' ? column + 8 - column % 8 : column + 1;
  }
  return column;
}

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Some errors are reported after the offending token was consumed (unknown
// field names and enum values, bad booleans, singular fields given twice).
// They quote the token, so move the position back to where it was written.
void back_up_to_quoted_token(const std::string& text, const std::string& message, int* line,
                             int* column) {
  std::string token;
  for (const char* marker : {"has no field named \"", "Non-repeated field \"",
                             "Unknown enumeration value of \"", "Value: \""}) {
    const size_t at = message.find(marker);
    if (at == std::string::npos) continue;
    const size_t begin = at + std::strlen(marker);
    token = message.substr(begin, message.find('"', begin) - begin);
    break;
  }
  if (token.empty()) return;
  size_t line_begin = 0;
  for (int i = 0; i < *line && line_begin != std::string::npos; ++i) {
    line_begin = text.find('\n', line_begin);
    if (line_begin != std::string::npos) ++line_begin;
  }
  if (line_begin == std::string::npos) return;
  size_t offset = line_begin;
  while (offset < text.size() && text[offset] != '\n' &&
         column_of(text, line_begin, offset) < *column) {
    ++offset;
  }
  for (size_t pos = text.rfind(token, offset); pos != std::string::npos;
       pos = pos == 0 ? std::string::npos : text.rfind(token, pos - 1)) {
    const size_t end = pos + token.size();
    if ((pos > 0 && is_word_char(text[pos - 1])) ||
        (end < text.size() && is_word_char(text[end]))) {
      continue;
    }
    const size_t found_line_begin =
        text.rfind('\n', pos) == std::string::npos ? 0 : text.rfind('\n', pos) + 1;
    *line = static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n'));
    *column = column_of(text, found_line_begin, pos);
    return;
  }
}

// Protobuf names message types with their package; users know them bare.
std::string readable(std::string message) {
  const std::string kPackage = "banyan.pb.";
  for (size_t at = message.find(kPackage); at != std::string::npos;
       at = message.find(kPackage, at)) {
    message.erase(at, kPackage.size());
  }
  const std::string kAtEnd = "got: ";
  if (message.size() >= kAtEnd.size() &&
      message.compare(message.size() - kAtEnd.size(), kAtEnd.size(), kAtEnd) == 0) {
    message += "end of file";
  }
  if (message.find("\"NetParameter\" has no field named \"layers\"") != std::string::npos) {
    message +=
        " (this is Caffe's old V1 'layers' format; convert it with Caffe's "
        "upgrade_net_proto_text tool)";
  }
  return message;
}

// ParseInfoTree wants -1 for singular fields and a real index for repeated
// ones (the first value stands for the whole field).
int tree_index(const gpb::FieldDescriptor* field, int index) {
  return field->is_repeated() ? std::max(index, 0) : -1;
}

}  // namespace

Status read_text_file(const std::string& path, const std::string& what, std::string* text) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Status::not_found(what + " '" + path + "' does not exist");
  }
  if (std::filesystem::is_directory(path, ec)) {
    return Status::io_error(what + " '" + path + "' is a directory, expected a prototxt file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::io_error("cannot open " + what + " '" + path + "': " + std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::io_error("error reading " + what + " '" + path + "'");
  *text = buffer.str();
  return Status::success();
}

Status parse_text(const std::string& text, const std::string& filename, gpb::Message* message,
                  ParseInfoTree* tree) {
  message->Clear();
  FirstErrorCollector errors(filename);
  gpb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(tree);
  const bool ok = parser.ParseFromString(text, message);
  if (ok && !errors.has_error()) return Status::success();
  if (!errors.has_error()) {
    return Status::invalid_argument(filename + ": cannot parse as " +
                                    message->GetDescriptor()->name());
  }
  int line = errors.line(), column = errors.column();
  back_up_to_quoted_token(text, errors.message(), &line, &column);
  std::string s = filename + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) +
                  ": " + readable(errors.message());
  const std::string source = source_line(text, line);
  if (!source.empty()) s += " near '" + source + "'";
  return Status::invalid_argument(s);
}

Scope::Scope(const std::string& file, const gpb::Descriptor* descriptor, const ParseInfoTree* tree,
             SourceLocation block, std::string context)
    : file_(file),
      descriptor_(descriptor),
      tree_(tree),
      block_(std::move(block)),
      context_(std::move(context)) {}

const gpb::FieldDescriptor* Scope::field_descriptor(const std::string& name) const {
  const gpb::FieldDescriptor* field = descriptor_->FindFieldByName(name);
  CHECK(field != nullptr) << descriptor_->full_name() << " has no field '" << name << "'";
  return field;
}

SourceLocation Scope::where(const std::string& field, int index) const {
  if (tree_ == nullptr) return block_;
  const gpb::FieldDescriptor* fd = field_descriptor(field);
  const gpb::TextFormat::ParseLocation at = tree_->GetLocation(fd, tree_index(fd, index));
  if (at.line < 0) return block_;
  SourceLocation loc;
  loc.file = file_;
  loc.line = at.line + 1;
  loc.column = at.column + 1;
  return loc;
}

Scope Scope::nested(const std::string& field, int index) const {
  const gpb::FieldDescriptor* fd = field_descriptor(field);
  CHECK(fd->message_type() != nullptr) << field << " is not a message field";
  const ParseInfoTree* nested =
      tree_ == nullptr ? nullptr : tree_->GetTreeForNested(fd, tree_index(fd, index));
  Scope s(file_, fd->message_type(), nested, where(field, index), context_);
  s.path_ = path_ + field + ".";
  return s;
}

std::string Scope::prefix(const std::string& field, int index) const {
  return where(field, index).to_string() + ": " + context_ + path_ + field;
}

Status Scope::invalid(const std::string& field, const std::string& what, int index) const {
  return Status::invalid_argument(prefix(field, index) + " " + what);
}

Status Scope::unsupported(const std::string& field, const std::string& what, int index) const {
  return Status::unimplemented(prefix(field, index) + " " + what);
}

void Scope::ignored(const std::string& field, const std::string& why) const {
  LOG(WARNING) << where(field).to_string() << ": ignored: " << context_ << path_ << field << " ("
               << why << ")";
}

}  // namespace banyan::config_internal

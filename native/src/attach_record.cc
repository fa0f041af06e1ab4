#include "attach_record.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <tuple>

#include "bpf_errors.h"
#include "loader.h"
#include "owned_fd.h"

namespace kpr {

namespace {

struct RecordKey {
  char program[32];
  char device[16];  // IFNAMSIZ
};

struct RecordValue {
  uint64_t scope;
  uint32_t prog_id;
  uint32_t hook;  // index in kHooks
};

constexpr const char* kHooks[] = {"cgroup", "xdp", "tc_ingress", "tc_egress"};

uint32_t HookIndex(const std::string& hook) {
  for (uint32_t i = 0; i < sizeof(kHooks) / sizeof(kHooks[0]); i++)
    if (hook == kHooks[i]) return i;
  throw BpfError("unknown hook '" + hook + "': cgroup, xdp, tc_ingress or tc_egress");
}

void CopyName(char* dst, size_t size, const std::string& name, const char* what) {
  if (name.size() >= size) throw BpfError(std::string(what) + " '" + name + "' is longer than " + std::to_string(size - 1) + " characters");
  std::memcpy(dst, name.c_str(), name.size() + 1);
}

RecordKey KeyOf(const WantedAttachment& w) {
  RecordKey k{};
  CopyName(k.program, sizeof(k.program), w.program, "program name");
  CopyName(k.device, sizeof(k.device), w.device, "device name");
  return k;
}

std::string Name(const char* field, size_t size) { return std::string(field, strnlen(field, size)); }

std::string KeyBytes(const RecordKey& k) { return std::string(reinterpret_cast<const char*>(&k), sizeof(k)); }

std::string Path(const std::string& map_dir) { return map_dir + "/" + kAttachRecordMap; }

bool HasLayout(int fd) {
  bpf_map_info info{};
  __u32 len = sizeof(info);
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_MAP_TYPE_HASH &&
         info.key_size == sizeof(RecordKey) && info.value_size == sizeof(RecordValue);
}

int CreateRecord(const std::string& map_dir) {
  MakeDirs(map_dir);
  const std::string path = Path(map_dir);
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  int fd = bpf_map_create(BPF_MAP_TYPE_HASH, kAttachRecordMap, sizeof(RecordKey), sizeof(RecordValue), kAttachRecordMax, &opts);
  if (fd < 0) ThrowErrno("creating " + path, errno);
  if (bpf_obj_pin(fd, path.c_str()) != 0) {
    int err = errno;
    close(fd);
    ThrowErrno("pinning " + path, err);
  }
  return fd;
}

std::vector<RecordKey> Keys(int fd) {
  std::vector<RecordKey> keys;
  RecordKey next;
  for (const RecordKey* prev = nullptr; bpf_map_get_next_key(fd, prev, &next) == 0; prev = &keys.back()) keys.push_back(next);
  return keys;
}

}  // namespace

void WriteAttachRecord(const std::string& map_dir, const std::vector<WantedAttachment>& rows) {
  if (rows.size() > kAttachRecordMax)
    throw BpfError(std::to_string(rows.size()) + " wanted attachments, more than " + kAttachRecordMap + " holds (" + std::to_string(kAttachRecordMax) + ")");
  const std::string path = Path(map_dir);
  int existing = OpenPinnedMapIfAny(path);
  if (existing >= 0 && !HasLayout(existing)) {
    // Left by another build: the agent owns the record and writes it whole.
    close(existing);
    if (unlink(path.c_str()) != 0) ThrowErrno("removing " + path, errno);
    existing = -1;
  }
  OwnedFd fd(existing >= 0 ? existing : CreateRecord(map_dir));
  std::set<std::string> wanted;
  for (const auto& w : rows) {
    RecordKey k = KeyOf(w);
    RecordValue v{w.scope, w.prog_id, HookIndex(w.hook)};
    if (bpf_map_update_elem(fd.fd, &k, &v, BPF_ANY) != 0) ThrowErrno("writing " + w.program + " to " + path, errno);
    wanted.insert(KeyBytes(k));
  }
  for (const auto& k : Keys(fd.fd))
    if (!wanted.count(KeyBytes(k)) && bpf_map_delete_elem(fd.fd, &k) != 0 && errno != ENOENT)
      ThrowErrno("removing " + Name(k.program, sizeof(k.program)) + " from " + path, errno);
}

std::vector<WantedAttachment> ReadAttachRecord(const std::string& map_dir) {
  std::vector<WantedAttachment> rows;
  const std::string path = Path(map_dir);
  OwnedFd fd(OpenPinnedMapIfAny(path));
  if (fd.fd < 0) return rows;
  if (!HasLayout(fd.fd)) throw BpfError(path + " is not a record of wanted attachments in this kpr's layout");
  for (const auto& k : Keys(fd.fd)) {
    RecordValue v;
    if (bpf_map_lookup_elem(fd.fd, &k, &v) != 0) continue;  // removed meanwhile by the agent
    if (v.hook >= sizeof(kHooks) / sizeof(kHooks[0])) throw BpfError(std::string(kAttachRecordMap) + ": unknown hook " + std::to_string(v.hook));
    rows.push_back({Name(k.program, sizeof(k.program)), kHooks[v.hook], Name(k.device, sizeof(k.device)), v.scope, v.prog_id});
  }
  // The cgroup's first, then by device, each device's hooks in kHooks' order: as readers list them.
  std::sort(rows.begin(), rows.end(), [](const WantedAttachment& a, const WantedAttachment& b) {
    return std::make_tuple(a.device, HookIndex(a.hook), a.program) < std::make_tuple(b.device, HookIndex(b.hook), b.program);
  });
  return rows;
}

}  // namespace kpr

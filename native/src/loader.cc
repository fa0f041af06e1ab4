#include "loader.h"

#include <bpf/libbpf.h>
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "bpf_errors.h"

namespace kpr {

namespace {

constexpr size_t kLogTailLines = 40;

void SetCapacity(bpf_object* obj, const char* name, uint32_t entries) {
  bpf_map* map = bpf_object__find_map_by_name(obj, name);
  if (!map) throw BpfError(std::string("object has no map ") + name);
  int err = bpf_map__set_max_entries(map, entries);
  if (err) ThrowErrno(std::string("sizing map ") + name, err);
}

int MapFd(bpf_object* obj, const char* name) {
  bpf_map* map = bpf_object__find_map_by_name(obj, name);
  if (!map) throw BpfError(std::string("object has no map ") + name);
  return bpf_map__fd(map);
}

}  // namespace

void MakeDirs(const std::string& dir) {
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    std::string part = dir.substr(0, pos);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) ThrowErrno("creating " + part, errno);
  }
}

LoadedObject LoadObject(const LoadOptions& opts) {
  MakeDirs(opts.map_dir);
  LibbpfLogCapture log;
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = opts.map_dir.c_str());
  bpf_object* obj = bpf_object__open_file(opts.object_path.c_str(), &open_opts);
  if (!obj) ThrowErrno("opening BPF object " + opts.object_path, errno);
  try {
    // Frontends and their backend slots share kpr_services; the plan keeps
    // their sum within lb_map_max.
    SetCapacity(obj, "kpr_services", opts.lb_map_max);
    SetCapacity(obj, "kpr_backends", opts.lb_map_max);
    SetCapacity(obj, "kpr_affinity", opts.lb_map_max);
    SetCapacity(obj, "kpr_svc_stats", opts.lb_map_max + 1);
    SetCapacity(obj, "kpr_revnat", opts.revnat_map_max);
    int err = bpf_object__load(obj);
    if (err) {
      int e = err < 0 ? -err : err;
      std::string tail = log.Tail(kLogTailLines);
      std::string hint = tail.find("reuse") != std::string::npos
                             ? "a map pinned under " + opts.map_dir + " has another size or layout\n"
                             : "";
      throw BpfError("loading BPF object " + opts.object_path + ": " + strerror(e) + " (errno " +
                     std::to_string(e) + ")\n" + hint + tail);
    }
    LoadedObject out;
    out.obj = obj;
    out.maps.services = MapFd(obj, "kpr_services");
    out.maps.backends = MapFd(obj, "kpr_backends");
    out.maps.affinity = MapFd(obj, "kpr_affinity");
    out.maps.revnat = MapFd(obj, "kpr_revnat");
    out.maps.destroy = MapFd(obj, "kpr_destroy");
    out.maps.svc_stats = MapFd(obj, "kpr_svc_stats");
    out.maps.drops = MapFd(obj, "kpr_drops");
    return out;
  } catch (...) {
    bpf_object__close(obj);
    throw;
  }
}

MapFds OpenPinnedMaps(const std::string& map_dir) {
  MapFds m;
  int* fds[7] = {&m.services, &m.backends, &m.affinity, &m.revnat, &m.destroy, &m.svc_stats, &m.drops};
  try {
    for (int i = 0; i < 7; i++) *fds[i] = OpenPinnedMap(map_dir + "/" + kMapNames[i]);
  } catch (...) {
    for (int i = 0; i < 7; i++)
      if (*fds[i] >= 0) close(*fds[i]);
    throw;
  }
  return m;
}

}  // namespace kpr

// The socket LB as JavaScript sees it: openSocketDatapath() loads bpf/sock_lb.o and
// returns its maps and programs; openPinnedSocketMaps() opens the pinned maps
// alone, for readers, whose calls that need the programs throw; netnsInfo()
// reads network namespaces for the socket-LB bypass.
#include <bpf/libbpf.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "js/objects.h"
#include "js/values.h"
#include "sock_attach.h"
#include "sock_maps.h"
#include "netns_thread.h"
#include "owned_fd.h"
#include "sock_udp_destroy.h"

namespace kpr::js {
namespace {

// The fields of the socket LB's records, named once per call that converts
// many of them.
struct SockNames {
  explicit SockNames(Napi::Env env)
      : fe(env), id(env, "id"), slot(env, "slot"), svc_id(env, "svcId"), backend_id(env, "backendId"), count(env, "count"),
        affinity(env, "affinityTimeout") {}
  FrontendNames fe;
  PropName id, slot, svc_id, backend_id, count, affinity;
};

SockBackend SockBackendArg(const Napi::Value& v, const SockNames& n) {
  Napi::Object o = ObjectArg(v);
  return SockBackend{U32(o, n.id), Str(o, n.fe.addr), Port(o, n.fe.port), U32(o, n.svc_id)};
}

std::vector<SockBackend> SockBackendsArg(const Napi::CallbackInfo& info) {
  const SockNames names(info.Env());
  return MapArray<SockBackend>(info[0], [&](const Napi::Value& v) { return SockBackendArg(v, names); });
}

SockServiceSlot SockServiceSlotArg(const Napi::Value& v, const SockNames& n) {
  Napi::Object o = ObjectArg(v);
  uint32_t slot = U32(o, n.slot), count = U32(o, n.count);
  if (slot > 65535 || count > 65535) throw BpfError("'slot' and 'count' must fit 16 bits");
  return SockServiceSlot{ToFrontend(o, n.fe),     static_cast<uint16_t>(slot),  U32(o, n.svc_id),
                         U32(o, n.backend_id), static_cast<uint16_t>(count), U32(o, n.affinity)};
}

std::vector<SockServiceSlot> SockServiceSlotsArg(const Napi::CallbackInfo& info) {
  const SockNames names(info.Env());
  return MapArray<SockServiceSlot>(info[0], [&](const Napi::Value& v) { return SockServiceSlotArg(v, names); });
}

// A map to digest on another thread: its name in the result, its
// descriptor, and the walk that digests it.
struct DigestJob {
  const char* name;
  int fd;
  std::string (*walk)(int fd);
};

// Digests maps on a thread of libuv's pool: at 100k services the walks take
// most of a second, which the event loop spends on changes meanwhile. Each
// map is walked through a copy of its descriptor, which a close() of the
// datapath meanwhile leaves open. Resolves with { name: digest, ... }.
class DigestWorker : public Napi::AsyncWorker {
 public:
  DigestWorker(Napi::Env env, std::initializer_list<DigestJob> jobs) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {
    for (const auto& job : jobs) {
      auto fd = std::make_unique<OwnedFd>(dup(job.fd));
      if (fd->fd < 0) throw BpfError(std::string("copying the descriptor of ") + job.name + ": " + strerror(errno));
      jobs_.push_back(Job{job.name, std::move(fd), job.walk, ""});
    }
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      for (auto& job : jobs_) job.digest = job.walk(job.fd->fd);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Object o = Napi::Object::New(Env());
    for (const auto& job : jobs_) o.Set(job.name, job.digest);
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  struct Job {
    const char* name;
    std::unique_ptr<OwnedFd> fd;
    std::string (*walk)(int fd);
    std::string digest;
  };
  Napi::Promise::Deferred deferred_;
  std::vector<Job> jobs_;
};

// Queues the walks; the promise of their digests.
Napi::Value DigestLater(Napi::Env env, std::initializer_list<DigestJob> jobs) {
  auto* worker = new DigestWorker(env, jobs);
  worker->Queue();
  return worker->Promise();
}

class SockDatapath : public Napi::ObjectWrap<SockDatapath> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SockDatapath",
                       {
                           InstanceMethod("updateBackends", &SockDatapath::UpdateBackends),
                           InstanceMethod("deleteBackends", &SockDatapath::DeleteBackends),
                           InstanceMethod("updateServices", &SockDatapath::UpdateServices),
                           InstanceMethod("deleteServices", &SockDatapath::DeleteServices),
                           InstanceMethod("mapDigests", &SockDatapath::MapDigests),
                           InstanceMethod("mapDigestsLater", &SockDatapath::MapDigestsLater),
                           InstanceMethod("dumpServices", &SockDatapath::DumpServices),
                           InstanceMethod("dumpBackends", &SockDatapath::DumpBackends),
                           InstanceMethod("readServiceStats", &SockDatapath::ReadServiceStats),
                           InstanceMethod("readDrops", &SockDatapath::ReadDrops),
                           InstanceMethod("attachCgroup", &SockDatapath::AttachCgroup),
                           InstanceMethod("attachCgroupProgram", &SockDatapath::AttachCgroupProgram),
                           InstanceMethod("programIds", &SockDatapath::ProgramIds),
                           InstanceMethod("verifiedInsns", &SockDatapath::VerifiedInsns),
                           InstanceMethod("destroyUdpSockets", &SockDatapath::DestroyUdpSockets),
                           InstanceMethod("replaceBypass", &SockDatapath::ReplaceBypass),
                           InstanceMethod("dumpBypass", &SockDatapath::DumpBypass),
                           InstanceMethod("replaceServiceRanges", &SockDatapath::ReplaceServiceRanges),
                           InstanceMethod("serviceRangesDigestLater", &SockDatapath::ServiceRangesDigestLater),
                           InstanceMethod("setNodeNetns", &SockDatapath::SetNodeNetns),
                           InstanceMethod("migrations", &SockDatapath::MigrationsJs),
                           InstanceMethod("settleMigratedMaps", &SockDatapath::SettleMigratedMaps),
                           InstanceMethod("close", &SockDatapath::CloseJs),
                       });
  }

  explicit SockDatapath(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SockDatapath>(info) {}
  ~SockDatapath() override { Close(); }

  // Takes ownership of a loaded object (agent) or of pinned map fds (readers).
  void Adopt(SockObject loaded) {
    sock_ = std::move(loaded);
    destroyer_ = std::make_unique<UdpSockDestroyer>(sock_.obj, sock_.maps.destroy);
  }
  void Adopt(SockMapFds fds) { sock_.maps = fds; }

 private:
  void Close() {
    destroyer_.reset();
    sock_.migrations.clear();
    if (sock_.obj)
      bpf_object__close(sock_.obj);  // closes its map fds too
    else
      CloseSockMaps(sock_.maps);
    sock_ = SockObject{};
  }

  const SockMapFds& Maps() const {
    if (sock_.maps.services < 0) throw BpfError("datapath is closed");
    return sock_.maps;
  }
  bpf_object* Loaded() const {
    if (!sock_.obj) throw BpfError("maps were opened read-only: no programs are loaded");
    return sock_.obj;
  }

  Napi::Value UpdateBackends(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      const int fd = Maps().backends;
      UpdateSockBackends(fd, SockBackendsArg(info));
      return env.Undefined();
    });
  }

  Napi::Value DeleteBackends(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      const int fd = Maps().backends;
      DeleteSockBackends(fd, U32Array(info[0], "backend ids"));
      return env.Undefined();
    });
  }

  Napi::Value UpdateServices(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      const int fd = Maps().services;
      UpdateSockServices(fd, SockServiceSlotsArg(info));
      return env.Undefined();
    });
  }

  Napi::Value DeleteServices(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      const int fd = Maps().services;
      const SockNames names(env);
      auto keys = MapArray<sock_svc_key>(info[0], [&](const Napi::Value& v) {
        Napi::Object o = ObjectArg(v);
        uint32_t slot = U32(o, names.slot);
        if (slot > 65535) throw BpfError("'slot' must fit 16 bits");
        return PackSockServiceKey(ToFrontend(o, names.fe), static_cast<uint16_t>(slot));
      });
      DeleteSockServices(fd, keys);
      return env.Undefined();
    });
  }

  Napi::Value MapDigests(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      Napi::Object o = Napi::Object::New(env);
      o.Set("services", SockServicesDigest(Maps().services));
      o.Set("backends", SockBackendsDigest(Maps().backends));
      return o;
    });
  }

  Napi::Value MapDigestsLater(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      return DigestLater(env, {{"services", Maps().services, SockServicesDigest}, {"backends", Maps().backends, SockBackendsDigest}});
    });
  }

  Napi::Value ServiceRangesDigestLater(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      return DigestLater(env, {{"ranges", SockServiceRangesFd(Loaded()), SockServiceRangesDigest}});
    });
  }

  Napi::Value DumpServices(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      auto slots = DumpSockServices(Maps().services);
      // Property names made once per dump, not once per entry: with 100k
      // entries, making the name strings costs more than reading the map.
      const Napi::String addr = Napi::String::New(env, "addr"), port = Napi::String::New(env, "port"),
                         proto = Napi::String::New(env, "proto"), slot = Napi::String::New(env, "slot"),
                         svc_id = Napi::String::New(env, "svcId"), backend_id = Napi::String::New(env, "backendId"),
                         count = Napi::String::New(env, "count"), affinity = Napi::String::New(env, "affinityTimeout");
      Napi::Array out = Napi::Array::New(env, slots.size());
      for (size_t i = 0; i < slots.size(); i++) {
        const auto& s = slots[i];
        Napi::Object o = Napi::Object::New(env);
        o.Set(addr, s.fe.addr);
        o.Set(port, s.fe.port);
        o.Set(proto, ProtoName(s.fe.proto));
        o.Set(slot, s.slot);
        o.Set(svc_id, s.svc_id);
        o.Set(backend_id, s.backend_id);
        o.Set(count, s.count);
        o.Set(affinity, s.affinity_timeout);
        out.Set(i, o);
      }
      return out;
    });
  }

  Napi::Value DumpBackends(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      auto backends = DumpSockBackends(Maps().backends);
      const Napi::String id = Napi::String::New(env, "id"), addr = Napi::String::New(env, "addr"),
                         port = Napi::String::New(env, "port"), svc_id = Napi::String::New(env, "svcId");
      Napi::Array out = Napi::Array::New(env, backends.size());
      for (size_t i = 0; i < backends.size(); i++) {
        Napi::Object o = Napi::Object::New(env);
        o.Set(id, backends[i].id);
        o.Set(addr, backends[i].addr);
        o.Set(port, backends[i].port);
        o.Set(svc_id, backends[i].svc_id);
        out.Set(i, o);
      }
      return out;
    });
  }

  Napi::Value ReadServiceStats(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      return ToArray(env, ReadSockServiceStats(Maps().svc_stats), [](const Napi::Env& e, const SockServiceStats& st) {
        Napi::Object o = Napi::Object::New(e);
        o.Set("svcId", st.svc_id);
        o.Set("translations", static_cast<double>(st.translations));
        return o;
      });
    });
  }

  Napi::Value ReadDrops(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      return NumberArray(env, ReadSockDrops(Maps().drops));
    });
  }

  static Napi::Object AttachResultObject(const Napi::Env& env, const AttachResult& r) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("prog", r.prog);
    o.Set("action", r.action);
    return o;
  }

  Napi::Value AttachCgroup(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      bpf_object* obj = Loaded();
      if (!info[0].IsString() || !info[1].IsString())
        throw BpfError("attachCgroup(cgroupPath, linkDir) takes two strings");
      return ToArray(env, AttachCgroupPrograms(obj, info[0].As<Napi::String>(), info[1].As<Napi::String>()),
                     AttachResultObject);
    });
  }

  Napi::Value AttachCgroupProgram(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      bpf_object* obj = Loaded();
      if (!info[0].IsString() || !info[1].IsString() || !info[2].IsString())
        throw BpfError("attachCgroupProgram(name, cgroupPath, linkDir) takes three strings");
      return AttachResultObject(env, kpr::AttachCgroupProgram(obj, info[0].As<Napi::String>(),
                                                                     info[1].As<Napi::String>(), info[2].As<Napi::String>()));
    });
  }

  Napi::Value ProgramIds(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value { return IdsObject(env, kpr::ProgramIds(Loaded())); });
  }

  Napi::Value VerifiedInsns(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value { return IdsObject(env, kpr::VerifiedInsns(Loaded())); });
  }

  Napi::Value DestroyUdpSockets(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      Loaded();
      auto targets = MapArray<SockTarget>(info[0], [](const Napi::Value& v) {
        Napi::Object o = ObjectArg(v);
        return SockTarget{Str(o, "addr"), Port(o)};
      });
      auto paths = Strings(info[1], "netns paths");
      return Napi::Number::New(env, static_cast<double>(destroyer_->Destroy(targets, paths)));
    });
  }

  // Cookies are u64: decimal strings in JavaScript.
  Napi::Value ReplaceBypass(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      std::vector<uint64_t> cookies;
      for (const auto& text : Strings(info[0], "netns cookies")) cookies.push_back(CookieOf(text));
      ReplaceSockBypass(Loaded(), cookies);
      return env.Undefined();
    });
  }

  Napi::Value ReplaceServiceRanges(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      ReplaceSockServiceRanges(Loaded(), Strings(info[0], "CIDRs"));
      return env.Undefined();
    });
  }

  Napi::Value DumpBypass(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      auto cookies = DumpSockBypass(Loaded());
      Napi::Array out = Napi::Array::New(env, cookies.size());
      for (size_t i = 0; i < cookies.size(); i++) out.Set(i, std::to_string(cookies[i]));
      return out;
    });
  }

  Napi::Value SetNodeNetns(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value {
      if (!info[0].IsString() || !info[1].IsBoolean()) throw BpfError("setNodeNetns(cookie, only) takes a decimal string and a boolean");
      SetSockNodeNetns(Loaded(), CookieOf(info[0].As<Napi::String>()), info[1].As<Napi::Boolean>().Value());
      return env.Undefined();
    });
  }

  static uint64_t CookieOf(const std::string& text) {
    if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string::npos)
      throw BpfError("a netns cookie is a decimal string, got '" + text + "'");
    return std::stoull(text);
  }

  Napi::Value MigrationsJs(const Napi::CallbackInfo& info) { return MigrationsArray(info.Env(), sock_.migrations); }

  Napi::Value SettleMigratedMaps(const Napi::CallbackInfo& info) {
    return Guard(info, [&](Napi::Env env) -> Napi::Value { return SettleMigrations(env, sock_.migrations); });
  }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Close();
    return info.Env().Undefined();
  }

  SockObject sock_;
  std::unique_ptr<UdpSockDestroyer> destroyer_;
};

// netnsInfo(paths): each network namespace's cookie and addresses, or why it
// could not be read ({ path, error }: a pod may be gone meanwhile).
Napi::Value NetnsInfoJs(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    auto paths = Strings(info[0], "netns paths");
    Napi::Array out = Napi::Array::New(env, paths.size());
    for (size_t i = 0; i < paths.size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("path", paths[i]);
      try {
        NetnsInfo n = ReadNetnsInfo(paths[i]);
        o.Set("cookie", std::to_string(n.cookie));
        Napi::Array addrs = Napi::Array::New(env, n.addresses.size());
        for (size_t k = 0; k < n.addresses.size(); k++) addrs.Set(k, n.addresses[k]);
        o.Set("addresses", addrs);
      } catch (const BpfError& e) {
        o.Set("error", e.what());
      }
      out.Set(i, o);
    }
    return out;
  });
}

Napi::Value OpenSocketDatapath(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    Napi::Object o = ObjectArg(info[0]);
    SockLoadOptions opts{Str(o, "objectPath"), Str(o, "mapDir"), U32(o, "lbMapMax"), U32(o, "revNatMapMax")};
    if (opts.lb_map_max == 0 || opts.lb_map_max > KPR_MAP_MAX_LIMIT)
      throw BpfError("'lbMapMax' must be between 1 and " + std::to_string(KPR_MAP_MAX_LIMIT));
    if (opts.revnat_map_max == 0) throw BpfError("'revNatMapMax' must be at least 1");
    return Instance<SockDatapath>(ConstructorsOf(env).sock_datapath, LoadSockObject(opts));
  });
}

Napi::Value OpenPinnedSocketMaps(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    const std::string map_dir = MapDirArg(info, "openPinnedSocketMaps");
    return Instance<SockDatapath>(ConstructorsOf(env).sock_datapath, OpenPinnedSockMaps(map_dir));
  });
}

}  // namespace

void RegisterSockDatapath(Napi::Env env, Napi::Object exports, Constructors& ctors) {
  ctors.sock_datapath = Napi::Persistent(SockDatapath::Define(env));
  exports.Set("openSocketDatapath", Napi::Function::New(env, OpenSocketDatapath));
  exports.Set("openPinnedSocketMaps", Napi::Function::New(env, OpenPinnedSocketMaps));
  exports.Set("netnsInfo", Napi::Function::New(env, NetnsInfoJs));
}

}  // namespace kpr::js

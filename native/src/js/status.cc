// The kernel's side as `kpr status` and the agent's attachment check read
// it (status.h), and the record of what the agent attached (attach_record.h):
// kernelStatus, readAttachments, writeAttachRecord, detachKprFromDevices. Plain functions:
// nothing stays open.
#include "attach_record.h"
#include "js/objects.h"
#include "js/values.h"
#include "status.h"

namespace kpr::js {
namespace {

Napi::Object LinkObject(const Napi::Env& env, const PinnedLinkInfo& l) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("name", l.name);
  r.Set("program", l.program);
  r.Set("progId", l.prog_id);
  r.Set("attachType", l.attach_type);
  r.Set("cgroupId", static_cast<double>(l.cgroup_id));
  return r;
}

Napi::Object DeviceObject(const Napi::Env& env, const DeviceAttachment& d) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("device", d.device);
  if (d.xdp_id) {
    r.Set("xdp", d.xdp_program);
    r.Set("xdpId", d.xdp_id);
    r.Set("xdpMode", d.xdp_mode);
  }
  if (d.tc_ingress_id) {
    r.Set("tcIngress", d.tc_ingress);
    r.Set("tcIngressId", d.tc_ingress_id);
  }
  if (d.tc_egress_id) {
    r.Set("tcEgress", d.tc_egress);
    r.Set("tcEgressId", d.tc_egress_id);
  }
  return r;
}

Napi::Object WantedObject(const Napi::Env& env, const WantedAttachment& w) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("program", w.program);
  r.Set("hook", w.hook);
  if (!w.device.empty()) r.Set("device", w.device);
  r.Set("scope", static_cast<double>(w.scope));
  r.Set("progId", w.prog_id);
  return r;
}

// `kpr status`: the kernel's side, read without the agent.
Napi::Value KernelStatusJs(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    Napi::Object o = ObjectArg(info[0]);
    const std::string map_dir = Str(o, "mapDir");
    Napi::Object out = Napi::Object::New(env);
    out.Set("maps", ToArray(env, PinnedMaps(map_dir), [](const Napi::Env& e, const PinnedMapInfo& m) {
      Napi::Object r = Napi::Object::New(e);
      r.Set("name", m.name);
      r.Set("type", m.type);
      r.Set("maxEntries", m.max_entries);
      if (m.entries >= 0) r.Set("entries", static_cast<double>(m.entries));
      return r;
    }));
    out.Set("links", ToArray(env, PinnedLinks(Str(o, "linkDir")), LinkObject));
    auto wanted = ReadAttachRecord(map_dir);
    std::vector<std::string> wanted_devices;
    for (const auto& w : wanted)
      if (!w.device.empty()) wanted_devices.push_back(w.device);
    out.Set("devices", ToArray(env, DeviceAttachments(wanted_devices), DeviceObject));
    out.Set("wanted", ToArray(env, wanted, WantedObject));
    return out;
  });
}

// The agent's check: its pinned links, and what the devices it wants carry.
Napi::Value ReadAttachmentsJs(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    Napi::Object o = ObjectArg(info[0]);
    Napi::Object out = Napi::Object::New(env);
    out.Set("links", ToArray(env, PinnedLinks(Str(o, "linkDir")), LinkObject));
    out.Set("devices", ToArray(env, NamedDeviceAttachments(Strings(o.Get("devices"), "devices")), DeviceObject));
    return out;
  });
}

Napi::Value WriteAttachRecordJs(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    if (!info[0].IsString()) throw BpfError("writeAttachRecord(mapDir, rows) takes a directory and an array");
    auto rows = MapArray<WantedAttachment>(info[1], [](const Napi::Value& v) {
      Napi::Object r = ObjectArg(v);
      Napi::Value scope = r.Get("scope");
      if (!scope.IsNumber() || scope.As<Napi::Number>().DoubleValue() < 0)
        throw BpfError("'scope' must be a non-negative number");
      return WantedAttachment{Str(r, "program"), Str(r, "hook"), OptStr(r, "device"),
                              static_cast<uint64_t>(scope.As<Napi::Number>().DoubleValue()), U32(r, "progId")};
    });
    WriteAttachRecord(info[0].As<Napi::String>(), rows);
    return env.Undefined();
  });
}

}  // namespace

void RegisterStatus(Napi::Env env, Napi::Object exports) {
  exports.Set("kernelStatus", Napi::Function::New(env, KernelStatusJs));
  exports.Set("readAttachments", Napi::Function::New(env, ReadAttachmentsJs));
  exports.Set("writeAttachRecord", Napi::Function::New(env, WriteAttachRecordJs));
  exports.Set("detachKprFromDevices", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Guard(info, [&](Napi::Env env) -> Napi::Value {
                  auto removed = DetachKprFromDevices();
                  Napi::Array out = Napi::Array::New(env, removed.size());
                  for (size_t i = 0; i < removed.size(); i++) out.Set(i, removed[i]);
                  return out;
                });
              }));
}

}  // namespace kpr::js

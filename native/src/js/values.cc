#include "js/values.h"

namespace kpr::js {

bool Given(const Napi::Object& o, const char* key) { return !o.Get(key).IsUndefined(); }

std::string Str(const Napi::Object& o, const PropName& key) {
  Napi::Value v = o.Get(key.js);
  if (!v.IsString()) throw BpfError(std::string("'") + key.text + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::string Str(const Napi::Object& o, const char* key) { return Str(o, PropName(o.Env(), key)); }

std::string OptStr(const Napi::Object& o, const char* key) { return Given(o, key) ? Str(o, key) : ""; }

uint32_t U32(const Napi::Object& o, const PropName& key) {
  Napi::Value v = o.Get(key.js);
  if (!v.IsNumber()) throw BpfError(std::string("'") + key.text + "' must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d > 4294967295.0 || d != static_cast<uint32_t>(d))
    throw BpfError(std::string("'") + key.text + "' must be an unsigned 32-bit integer");
  return static_cast<uint32_t>(d);
}

uint32_t U32(const Napi::Object& o, const char* key) { return U32(o, PropName(o.Env(), key)); }

uint16_t Port(const Napi::Object& o, const PropName& key) {
  uint32_t p = U32(o, key);
  if (p > 65535) throw BpfError("'port' out of range: " + std::to_string(p));
  return static_cast<uint16_t>(p);
}

uint16_t Port(const Napi::Object& o) { return Port(o, PropName(o.Env(), "port")); }

Frontend ToFrontend(const Napi::Object& o, const FrontendNames& n) {
  return Frontend{Str(o, n.addr), Port(o, n.port), ProtoFromName(Str(o, n.proto))};
}

Frontend ToFrontend(const Napi::Object& o) { return ToFrontend(o, FrontendNames(o.Env())); }

Napi::Object ObjectArg(const Napi::Value& v) {
  if (!v.IsObject()) throw BpfError("expected an object");
  return v.As<Napi::Object>();
}

std::string MapDirArg(const Napi::CallbackInfo& info, const char* call) {
  if (!info[0].IsString()) throw BpfError(std::string(call) + "(mapDir) takes a string");
  return info[0].As<Napi::String>();
}

std::vector<uint32_t> U32Array(const Napi::Value& v, const char* what) {
  return MapArray<uint32_t>(v, [what](const Napi::Value& e) {
    if (!e.IsNumber()) throw BpfError(std::string(what) + " must be numbers");
    return e.As<Napi::Number>().Uint32Value();
  });
}

std::vector<std::string> Strings(const Napi::Value& v, const char* what) {
  return MapArray<std::string>(v, [what](const Napi::Value& e) {
    if (!e.IsString()) throw BpfError(std::string(what) + " must be strings");
    return e.As<Napi::String>().Utf8Value();
  });
}

Napi::Uint32Array ToUint32Array(const Napi::Env& env, const std::vector<uint32_t>& v) {
  Napi::Uint32Array out = Napi::Uint32Array::New(env, v.size());
  std::copy(v.begin(), v.end(), out.Data());
  return out;
}

Napi::Array MigrationsArray(const Napi::Env& env, const Migrations& migrations) {
  Napi::Array out = Napi::Array::New(env);
  for (const auto& m : migrations)
    for (const auto& done : m->Migrated()) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("map", done.name);
      o.Set("fromEntries", done.from_entries);
      o.Set("toEntries", done.to_entries);
      o.Set("copied", static_cast<double>(done.copied));
      if (!done.from_layout.empty()) o.Set("fromLayout", done.from_layout);
      out.Set(out.Length(), o);
    }
  return out;
}

Napi::Value SettleMigrations(const Napi::Env& env, Migrations& migrations) {
  uint64_t copied = 0;
  for (auto& m : migrations) copied += m->Settle();
  return Napi::Number::New(env, static_cast<double>(copied));
}

Napi::Object IdsObject(const Napi::Env& env, const std::map<std::string, uint32_t>& ids) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [name, id] : ids) o.Set(name, id);
  return o;
}

}  // namespace kpr::js

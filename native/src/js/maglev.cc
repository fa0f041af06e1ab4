// Maglev tables for the agent's plan: computeMaglev, computeMaglevFromPermutations
// and maglevDigest (maglev.h). Plain functions: nothing stays open.
#include <string_view>

#include "js/objects.h"
#include "js/values.h"
#include "maglev.h"

namespace kpr::js {
namespace {

// Two Node-API calls a string where Str() makes five, which saves about
// 0.05 ms of computeMaglev at 1000 backends. Names are short; a longer one
// is read again at its full length.
std::vector<std::string> StringArray(const Napi::Env& env, const Napi::Value& v, const char* key) {
  const std::string err = std::string("'") + key + "' must be an array of strings";
  if (!v.IsArray()) throw BpfError(err);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out(a.Length());
  char buf[64];
  for (uint32_t i = 0; i < out.size(); i++) {
    napi_value e;
    size_t len;
    if (napi_get_element(env, a, i, &e) != napi_ok || napi_get_value_string_utf8(env, e, buf, sizeof(buf), &len) != napi_ok)
      throw BpfError(err);
    if (len < sizeof(buf) - 1) {
      out[i].assign(buf, len);
    } else {
      napi_get_value_string_utf8(env, e, nullptr, 0, &len);
      out[i].resize(len + 1);
      napi_get_value_string_utf8(env, e, out[i].data(), len + 1, &len);
      out[i].resize(len);
    }
  }
  return out;
}

Napi::Value ComputeMaglevJs(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    Napi::Object o = ObjectArg(info[0]);
    auto names = StringArray(env, o.Get("backends"), "backends");
    MaglevTable t = ComputeMaglev(names, U32(o, "size"), U32(o, "seed"));
    Napi::Object out = Napi::Object::New(env);
    out.Set("order", ToUint32Array(env, t.backends));
    out.Set("table", ToUint32Array(env, t.slots));
    out.Set("digest", t.digest);
    return out;
  });
}

Napi::Value ComputeMaglevFromPermutationsJs(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    Napi::Object o = ObjectArg(info[0]);
    auto perms = MapArray<MaglevPermutation>(o.Get("permutations"), [](const Napi::Value& v) {
      Napi::Object p = ObjectArg(v);
      return MaglevPermutation{U32(p, "offset"), U32(p, "skip")};
    });
    return ToUint32Array(env, PopulateMaglev(perms, U32(o, "size")));
  });
}

Napi::Value MaglevDigestJs(const Napi::CallbackInfo& info) {
  return Guard(info, [&](Napi::Env env) -> Napi::Value {
    Napi::Object o = ObjectArg(info[0]);
    auto names = StringArray(env, o.Get("backends"), "backends");
    std::vector<std::string_view> views(names.begin(), names.end());
    return Napi::String::New(env, MaglevDigest(views, U32Array(o.Get("table")), U32(o, "seed")));
  });
}

}  // namespace

void RegisterMaglev(Napi::Env env, Napi::Object exports) {
  exports.Set("maglevDigest", Napi::Function::New(env, MaglevDigestJs));
  exports.Set("computeMaglev", Napi::Function::New(env, ComputeMaglevJs));
  exports.Set("computeMaglevFromPermutations", Napi::Function::New(env, ComputeMaglevFromPermutationsJs));
}

}  // namespace kpr::js

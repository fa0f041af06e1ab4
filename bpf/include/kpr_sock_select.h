/* Service lookup and backend choice, shared by every socket hook. */
#ifndef KPR_SOCK_SELECT_H
#define KPR_SOCK_SELECT_H

#include "kpr_sock_maps.h"
#include "kpr_sock_addr.h"
#include "kpr_sock_unserved.h"

static __always_inline void count_translation(__u32 svc_id)
{
	struct sock_svc_stats *s = bpf_map_lookup_elem(&kpr_svc_stats, &svc_id);

	if (s)
		s->translations += 1;
}

static __always_inline void svc_key_init(struct sock_svc_key *key, const struct sock_endpoint *a, __u8 proto)
{
	__builtin_memset(key, 0, sizeof(*key));
	__builtin_memcpy(key->addr, a->addr, 16);
	key->port = a->port;
	key->proto = proto;
	key->family = a->family;
}

/* The backend this client used last, while its affinity is fresh and the
 * backend still belongs to the service. */
static __always_inline struct sock_backend *
affinity_backend(const struct sock_affinity_key *akey, __u32 svc_id, __u32 timeout, __u64 now, __u32 *backend_id)
{
	struct sock_affinity_val *av = bpf_map_lookup_elem(&kpr_affinity, akey);
	struct sock_backend *b;

	if (!av || now - av->last_used_ns > (__u64)timeout * KPR_NSEC_PER_SEC)
		return NULL;
	*backend_id = av->backend_id;
	b = bpf_map_lookup_elem(&kpr_backends, backend_id);
	if (!b || b->svc_id != svc_id)
		return NULL;
	return b;
}

/* Translates *a in place from a frontend to one of its backends. The client
 * identity for affinity is the socket's network namespace (one per pod). */
static __always_inline enum sock_verdict
sock_translate(struct bpf_sock_addr *ctx, struct sock_endpoint *a, __u8 proto, __u32 *svc_id_out)
{
	struct sock_affinity_key akey = {};
	struct sock_svc_key key;
	struct sock_svc_val *svc, *slot;
	struct sock_backend *b = NULL;
	__u32 svc_id, count, timeout, backend_id = 0;
	int affinity;
	__u64 now = 0;

	svc_key_init(&key, a, proto);
	svc = bpf_map_lookup_elem(&kpr_services, &key);
	if (!svc)
		return unserved(a);
	svc_id = svc->svc_id;
	count = svc->count;
	timeout = svc->affinity_timeout;
	affinity = svc->flags & KPR_SOCK_F_AFFINITY;
	if (count == 0) {
		count_drop(KPR_SOCK_DROP_NO_BACKEND);
		return SOCK_REJECT;
	}

	if (affinity) {
		now = bpf_ktime_get_ns();
		akey.netns_cookie = bpf_get_netns_cookie(ctx);
		akey.svc_id = svc_id;
		b = affinity_backend(&akey, svc_id, timeout, now, &backend_id);
	}
	if (!b) {
		key.slot = (bpf_get_prandom_u32() % count) + 1;
		slot = bpf_map_lookup_elem(&kpr_services, &key);
		if (!slot) {
			count_drop(KPR_SOCK_DROP_BACKEND_MISSING);
			return SOCK_REJECT;
		}
		backend_id = slot->backend_id;
		b = bpf_map_lookup_elem(&kpr_backends, &backend_id);
		if (!b) {
			count_drop(KPR_SOCK_DROP_BACKEND_MISSING);
			return SOCK_REJECT;
		}
	}
	if (affinity) {
		struct sock_affinity_val av = { .last_used_ns = now, .backend_id = backend_id };

		bpf_map_update_elem(&kpr_affinity, &akey, &av, BPF_ANY);
	}

	__builtin_memcpy(a->addr, b->addr, 16);
	a->port = b->port;
	a->family = b->family;
	*svc_id_out = svc_id;
	count_translation(svc_id);
	return SOCK_TRANSLATED;
}

#endif

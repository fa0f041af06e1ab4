/* `kpr trace`: every forwarding decision of the edge LB for the frontends
 * and clients asked for, through a ring buffer, while a reader holds the
 * lease in kpr_xdp_trace_ctl. Off, it costs a packet one array load. */
#ifndef KPR_EDGE_TRACE_H
#define KPR_EDGE_TRACE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_parse.h"
#include "kpr_addr.h"
#include "kpr_edge_maps.h"

/* What balance() decided for a packet; all a trace needs besides the packet. */
struct decision {
	__u32 svc_id;
	__u32 backend_id;
	__u8 pick; /* enum kpr_pick */
	__u8 path; /* enum kpr_path */
};

/* A ring buffer record for p when it is to be traced, with its client and
 * frontend filled in before anything rewrites them; NULL otherwise. */
static __always_inline struct edge_trace_event *trace_begin(const struct pkt *p)
{
	struct edge_trace_event *e;
	struct edge_trace_ctl *c;
	__u32 zero = 0;
	__u64 now;

	c = bpf_map_lookup_elem(&kpr_xdp_trace_ctl, &zero);
	if (!c || !c->until_ns)
		return NULL;
	now = bpf_ktime_get_coarse_ns();
	if (now > c->until_ns) {
		c->until_ns = 0; /* a reader that died: back to one load a packet */
		return NULL;
	}
	if (c->frontend_family &&
	    (c->frontend_family != p->family || !addr_equal(c->frontend_addr, p->daddr) ||
	     (c->frontend_port && c->frontend_port != p->dport) || (c->frontend_proto && c->frontend_proto != p->proto)))
		return NULL;
	if (c->client_family && (c->client_family != p->family || !addr_equal(c->client_addr, p->saddr)))
		return NULL;
	e = bpf_ringbuf_reserve(&kpr_xdp_trace, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&c->lost, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	__builtin_memcpy(e->client_addr, p->saddr, 16);
	__builtin_memcpy(e->frontend_addr, p->daddr, 16);
	e->client_port = p->sport;
	e->frontend_port = p->dport;
	e->proto = p->proto;
	e->family = p->family;
	return e;
}

static __always_inline void trace_end(struct edge_trace_event *e, const struct decision *d, int action)
{
	struct edge_backend *b;
	__u32 zero = 0, *last;

	e->action = action;
	e->svc_id = d->svc_id;
	e->backend_id = d->backend_id;
	e->pick = d->pick;
	e->path = d->path;
	b = d->backend_id ? bpf_map_lookup_elem(&kpr_edge_backends, &d->backend_id) : NULL;
	if (b) {
		__builtin_memcpy(e->backend_addr, b->addr, 16);
		e->backend_port = b->port;
	}
	/* No pick: dropped or rejected before a choice; a drop after one: why. */
	last = bpf_map_lookup_elem(&kpr_xdp_last_drop, &zero);
	if (last && (action == XDP_DROP || d->pick == KPR_PICK_NONE))
		e->drop_reason = *last;
	bpf_ringbuf_submit(e, 0);
}

#endif

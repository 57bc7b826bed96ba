/* qcow2 internal snapshot table: read and validated at open (the check
 * counts the clusters snapshots hold; writes copy what they share). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2/qcow2.h"

#define QCOW2_MAX_SNAPSHOT_TABLE (64u << 20)

void qcow2_free_snapshots(struct qcow2 *s)
{
	for (uint32_t i = 0; s->snapshots && i < s->nb_snapshots; i++) {
		free(s->snapshots[i].id);
		free(s->snapshots[i].name);
	}
	free(s->snapshots);
	s->snapshots = NULL;
}

int qcow2_read_snapshots(struct qcow2 *s, struct vs_error *err)
{
	uint64_t off = s->snapshots_offset;
	if (!s->nb_snapshots)
		return 0;
	s->snapshots = calloc(s->nb_snapshots, sizeof(*s->snapshots));
	if (!s->snapshots)
		return vs_error_set(err, ENOMEM, "snapshot table");
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		struct qcow2_snapshot *sn = &s->snapshots[i];
		uint8_t h[40];
		if (off - s->snapshots_offset > QCOW2_MAX_SNAPSHOT_TABLE)
			return vs_error_msg(err, "snapshot table is larger than %u bytes",
					    QCOW2_MAX_SNAPSHOT_TABLE);
		if (off + sizeof(h) > s->file_end || qcow2_pread(s, off, h, sizeof(h)) < 0)
			return vs_error_msg(err, "snapshot %u lies past the end of the file", i);
		sn->l1_offset = qcow2_be64(h);
		sn->l1_size = qcow2_be32(h + 8);
		uint16_t id_len = qcow2_be16(h + 12), name_len = qcow2_be16(h + 14);
		sn->date_sec = qcow2_be32(h + 16);
		sn->date_nsec = qcow2_be32(h + 20);
		sn->vm_clock_nsec = qcow2_be64(h + 24);
		sn->vm_state_size = qcow2_be32(h + 32);
		uint32_t extra_len = qcow2_be32(h + 36);
		if (extra_len > 1024)
			return vs_error_msg(err, "snapshot %u: extra data of %u bytes is absurd", i,
					    extra_len);
		uint64_t body = (uint64_t)extra_len + id_len + name_len;
		uint8_t *b = malloc(body + 1);
		if (!b)
			return vs_error_set(err, ENOMEM, "snapshot table");
		/* len 0 reads nothing and succeeds */
		if (off + 40 + body > s->file_end || qcow2_pread(s, off + 40, b, body) < 0) {
			free(b);
			return vs_error_msg(err, "snapshot %u lies past the end of the file", i);
		}
		if (extra_len >= 8)
			sn->vm_state_size = qcow2_be64(b);
		sn->disk_size = extra_len >= 16 ? qcow2_be64(b + 8) : s->size;
		sn->id = strndup((char *)b + extra_len, id_len);
		sn->name = strndup((char *)b + extra_len + id_len, name_len);
		free(b);
		if (!sn->id || !sn->name)
			return vs_error_set(err, ENOMEM, "snapshot table");
		if ((uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES)
			return vs_error_msg(err, "snapshot `%s`: L1 table size %u is absurd", sn->name,
					    sn->l1_size);
		if (sn->l1_size && (sn->l1_offset % s->cluster_size || sn->l1_offset < s->cluster_size ||
				    sn->l1_offset + (uint64_t)sn->l1_size * 8 > s->file_end))
			return vs_error_msg(err, "snapshot `%s`: L1 table offset 0x%llx is invalid", sn->name,
					    (unsigned long long)sn->l1_offset);
		off += (40 + body + 7) & ~7ull;
	}
	s->snapshots_size = off - s->snapshots_offset;
	return 0;
}

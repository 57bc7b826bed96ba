/* The decoded-block cache's shared types: records (one decoded instruction
 * each), blocks, and the entry points of its parts:
 *   block_decode.c  guest bytes -> records (vs_blk_build)
 *   block_exec.c    the records' handlers (vs_blk_bind picks one)
 *   block.c         the cache, chaining and the run loop
 *   jit.c           x86-64 host code for hot blocks (x86-64 hosts only)
 * Internal to src/accel/emu. */
#ifndef VESSEL_ACCEL_EMU_BLOCK_H
#define VESSEL_ACCEL_EMU_BLOCK_H

#include "accel/emu/cpu.h"

#define BLK_BITS 13
#define BLK_COUNT (1u << BLK_BITS)
#define BLK_RECS 16
#define BLK_BYTES 256

struct blk_rec;
typedef void (*blk_fn)(struct vs_emu_cpu *c, struct blk_rec *r);

/* What a record does, set by the decoder; vs_blk_bind turns the generic
 * kinds (K_ALU_RM_REG...) into a handler and, for the commonest 64-bit
 * shapes, a specialised kind (K_S_*) the JIT also knows. */
enum blk_kind {
	K_ALU_ACC_IMM,
	K_ALU_REG_RM,
	K_ALU_RM_IMM,
	K_ALU_RM_REG,
	K_BT_IMM,
	K_CALL,
	K_CMOV,
	K_IMUL,
	K_INCDEC,
	K_JCC,
	K_JMP,
	K_LEA,
	K_LEAVE,
	K_MOV_REG_IMM,
	K_MOV_REG_RM,
	K_MOV_RM_IMM,
	K_MOV_RM_REG,
	K_MOVSXD,
	K_MOVX,
	K_NOP,
	K_NOTNEG,
	K_POP,
	K_PUSH,
	K_RET,
	K_SETCC,
	K_SHIFT,
	K_TEST_RM_IMM,
	K_TEST_RM_REG,
	K_GENERIC_COUNT,
	/* Specialised (64-bit code; 32/64-bit operands where it says so). */
	K_S_ALU_RR = K_GENERIC_COUNT, /* op: ADD OR - - AND SUB XOR CMP; dst op= src */
	K_S_ALU_RI,		      /* dst op= imm */
	K_S_MOV_RR,
	K_S_MOV_RI,
	K_S_LOAD,  /* dst = [ea] */
	K_S_STORE, /* [ea] = src */
	K_S_INCDEC,
	K_S_LEA,
	K_S_JCC,
	K_S_JMP,
	K_S_PUSH,
	K_S_POP,
	K_S_CALL,
	K_S_RET,
};

struct blk_rec {
	blk_fn fn;
	struct insn d; /* prefixes, sizes, ModRM fields; ea/off filled per run */
	int64_t disp;  /* memory operand: displacement */
	uint64_t imm;  /* immediate, or the branch displacement */
	int8_t base, index;
	uint8_t scale;
	uint8_t len; /* instruction length */
	uint8_t op;  /* ALU operation, condition code, shift kind... */
	uint8_t size;
	uint8_t dst, src; /* register operands of the specialised handlers */
	uint8_t kind;	  /* enum blk_kind */
	bool stores;	  /* may write guest memory: look at `attention` after it */
};

/* Host code compiled for a block (jit.c), valid while `gen` is the
 * vCPU's code buffer generation. It may go on into the code of the
 * blocks that follow (c->blk_cur: the last one). Returns the guest
 * instructions it completed and did not count in c->icount itself (or'ed
 * with JIT_STOPPED when a store into a code page or an MMIO write raised
 * `attention` and it stopped inside a block). */
typedef unsigned (*jit_fn)(struct vs_emu_cpu *c);
#define JIT_STOPPED 0x80000000u /* or'ed into the count when it stopped early */

struct blk {
	uint64_t key; /* host offset << 2 | mode, 0: empty */
	const uint8_t *host;
	uint16_t nbytes;
	uint8_t nrec;
	bool tail;     /* interpret one instruction after the records */
	uint16_t runs; /* entries since it was built (saturating), for the JIT */
	uint32_t jit_gen;
	jit_fn jit;
	const void *jit_chain; /* entry of the code from another block's code */
	/* Chaining: the block that followed the last time the block left to
	 * page offset link_off[i] (two exits: a branch's target and its fall
	 * through); valid while that slot still holds the block of this page
	 * at that offset (block.c). */
	struct blk *link[2];
	uint16_t link_off[2];
	uint8_t bytes[BLK_BYTES];
	struct blk_rec rec[BLK_RECS];
};

/* The block cache (block.c), c->blk_tab: BLK_COUNT sets of BLK_WAYS
 * blocks. jit.c's far chain looks blocks up in it with the same hash. */
#define BLK_WAYS 4
#define BLK_SLOTS (BLK_COUNT * BLK_WAYS)

struct blk_set {
	uint64_t key[BLK_WAYS];	 /* mirrors blk.key of each way */
	uint64_t used[BLK_WAYS]; /* the cache's clock at the last look-up, 0: never */
};

struct blk_cache {
	struct blk blk[BLK_SLOTS]; /* set s: blk[s * BLK_WAYS ...] */
	struct blk_set set[BLK_COUNT];
	uint64_t clock;
};

/* Decode a block at `host` (`avail` bytes to the end of the page) into b. */
void vs_blk_build(struct vs_emu_cpu *c, struct blk *b, const uint8_t *host, unsigned avail, uint64_t key);
/* Give a decoded record its handler (and specialised kind). */
void vs_blk_bind(struct vs_emu_cpu *c, struct blk_rec *r);

/* The JIT (jit.c). vs_jit_compile returns NULL when the block cannot be
 * compiled (no code buffer, not an x86-64 host, VESSEL_EMU_JIT=0). */
void vs_jit_init(struct vs_emu_cpu *c); /* sets c->jit_hot from the environment */
jit_fn vs_jit_compile(struct vs_emu_cpu *c, struct blk *b);
/* Point the exit link c->jit_link asked for at `to`'s code (when `to` is
 * the block that exit leads to and has code of the current generation). */
void vs_jit_link(struct vs_emu_cpu *c, void *link, const struct blk *to);
void vs_jit_free(struct vs_emu_cpu *c);

#endif

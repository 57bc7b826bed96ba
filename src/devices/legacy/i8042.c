/* i8042 keyboard controller.
 *
 * Enough for a guest to find the controller, talk to it in polled mode and
 * reset the machine through it. There is no keyboard input and no IRQ 1 (or
 * IRQ 12): device commands are answered in the output buffer so a polling
 * probe completes, but an interrupt-driven driver (Linux's atkbd) sees its
 * commands time out and gives up on the keyboard, which is what we want.
 *
 * There is no AUX (mouse) port. Linux probes one with the AUX loopback
 * command 0xd3, then the AUX interface test 0xa9; both are answered so that
 * the probe fails at once instead of after several 0.5 s timeouts.
 */
#include "devices/legacy/i8042.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/log.h"

#define STS_OBF 0x01	  /* output buffer full */
#define STS_SYS 0x04	  /* system flag: self-test passed */
#define STS_CMD 0x08	  /* last write was to the command port */
#define STS_UNLOCKED 0x10 /* keyboard not inhibited by the key lock */

#define CTR_KBD_INT 0x01
#define CTR_SYS 0x04
#define CTR_KBD_DISABLE 0x10
#define CTR_AUX_DISABLE 0x20
#define CTR_XLATE 0x40
/* What a BIOS leaves behind: keyboard interrupt, translation, no AUX. */
#define CTR_DEFAULT (CTR_KBD_INT | CTR_SYS | CTR_AUX_DISABLE | CTR_XLATE)

#define OUTPORT_RESET_N 0x01 /* active low: 0 holds the CPU in reset */
#define OUTPORT_A20 0x02
#define OUTPORT_DEFAULT (OUTPORT_RESET_N | OUTPORT_A20)

enum {
	CMD_READ_RAM = 0x20,  /* 0x20-0x3f: RAM byte; 0x20 is the command byte */
	CMD_WRITE_RAM = 0x60, /* 0x60-0x7f */
	CMD_AUX_DISABLE = 0xa7,
	CMD_AUX_ENABLE = 0xa8,
	CMD_AUX_TEST = 0xa9,
	CMD_SELF_TEST = 0xaa,
	CMD_KBD_TEST = 0xab,
	CMD_KBD_DISABLE = 0xad,
	CMD_KBD_ENABLE = 0xae,
	CMD_READ_OUTPORT = 0xd0,
	CMD_WRITE_OUTPORT = 0xd1,
	CMD_WRITE_KBD_OBUF = 0xd2,
	CMD_WRITE_AUX_OBUF = 0xd3,
	CMD_WRITE_AUX = 0xd4,
	CMD_PULSE = 0xf0, /* 0xf0-0xff: low nibble is a mask, 0 = pulse that line */
};

#define SELF_TEST_OK 0x55
#define PORT_TEST_OK 0x00
#define PORT_TEST_CLOCK_HIGH 0x02 /* what an empty connector reports */

enum {
	KBD_ACK = 0xfa,
	KBD_BAT_OK = 0xaa,
	KBD_ID_MF2 = 0xab, /* first ID byte; the second is 0x83, or 0x41 translated */
	KBD_CMD_SET_LEDS = 0xed,
	KBD_CMD_SCANCODE_SET = 0xf0,
	KBD_CMD_GET_ID = 0xf2,
	KBD_CMD_ECHO = 0xee, /* answered with itself */
	KBD_CMD_TYPEMATIC = 0xf3,
	KBD_CMD_RESET = 0xff,
};

#define RAM_SIZE 32
#define OBUF_SIZE 8

struct vs_i8042 {
	pthread_mutex_t lock;
	struct vs_stop_sink stop;
	struct vs_ratelimit rl;

	uint8_t ram[RAM_SIZE]; /* ram[0] is the command byte */
	uint8_t outport;
	uint8_t status_cmd; /* STS_CMD or 0 */
	uint8_t pending;    /* controller command awaiting its data byte, or 0 */
	bool kbd_arg;	    /* keyboard command awaiting its argument */

	uint8_t obuf[OBUF_SIZE];
	unsigned int ohead, ocount;
};

static void obuf_push(struct vs_i8042 *k, uint8_t b)
{
	if (k->ocount == OBUF_SIZE)
		return;
	k->obuf[(k->ohead + k->ocount) % OBUF_SIZE] = b;
	k->ocount++;
}

/* A controller reply replaces whatever the guest left unread: it asked a
 * question and polls for the answer, which must not be a stale byte. */
static void reply(struct vs_i8042 *k, uint8_t b)
{
	k->ocount = 0;
	obuf_push(k, b);
}

static uint8_t obuf_pop(struct vs_i8042 *k)
{
	uint8_t b;
	if (k->ocount == 0)
		return 0;
	b = k->obuf[k->ohead];
	k->ohead = (k->ohead + 1) % OBUF_SIZE;
	k->ocount--;
	return b;
}

/* Returns true when the command pulses the reset line. */
static bool controller_command(struct vs_i8042 *k, uint8_t cmd)
{
	k->pending = 0;
	if (cmd >= CMD_READ_RAM && cmd < CMD_READ_RAM + RAM_SIZE) {
		reply(k, k->ram[cmd - CMD_READ_RAM]);
		return false;
	}
	if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + RAM_SIZE) {
		k->pending = cmd;
		return false;
	}
	if (cmd >= CMD_PULSE)
		return !(cmd & OUTPORT_RESET_N);

	switch (cmd) {
	case CMD_AUX_DISABLE:
		k->ram[0] |= CTR_AUX_DISABLE;
		break;
	case CMD_AUX_ENABLE:
		k->ram[0] &= ~CTR_AUX_DISABLE;
		break;
	case CMD_AUX_TEST:
		reply(k, PORT_TEST_CLOCK_HIGH);
		break;
	case CMD_SELF_TEST:
		reply(k, SELF_TEST_OK);
		break;
	case CMD_KBD_TEST:
		reply(k, PORT_TEST_OK);
		break;
	case CMD_KBD_DISABLE:
		k->ram[0] |= CTR_KBD_DISABLE;
		break;
	case CMD_KBD_ENABLE:
		k->ram[0] &= ~CTR_KBD_DISABLE;
		break;
	case CMD_READ_OUTPORT:
		reply(k, k->outport);
		break;
	case CMD_WRITE_OUTPORT:
	case CMD_WRITE_KBD_OBUF:
	case CMD_WRITE_AUX_OBUF:
	case CMD_WRITE_AUX:
		k->pending = cmd;
		break;
	default:
		if (vs_ratelimit_ok(&k->rl))
			vs_warn("i8042: unsupported controller command 0x%02x ignored", cmd);
		break;
	}
	return false;
}

/* The keyboard's own command set, answered as if by an MF2 keyboard. */
static void keyboard_command(struct vs_i8042 *k, uint8_t cmd)
{
	if (k->kbd_arg) {
		k->kbd_arg = false;
		obuf_push(k, KBD_ACK);
		return;
	}
	switch (cmd) {
	case KBD_CMD_RESET:
		obuf_push(k, KBD_ACK);
		obuf_push(k, KBD_BAT_OK);
		break;
	case KBD_CMD_GET_ID:
		obuf_push(k, KBD_ACK);
		obuf_push(k, KBD_ID_MF2);
		obuf_push(k, (k->ram[0] & CTR_XLATE) ? 0x41 : 0x83);
		break;
	case KBD_CMD_ECHO:
		obuf_push(k, KBD_CMD_ECHO);
		break;
	case KBD_CMD_SET_LEDS:
	case KBD_CMD_SCANCODE_SET:
	case KBD_CMD_TYPEMATIC:
		k->kbd_arg = true;
		obuf_push(k, KBD_ACK);
		break;
	default:
		obuf_push(k, KBD_ACK);
		break;
	}
}

/* Returns true when the write pulls the reset line. */
static bool data_write(struct vs_i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;
	k->pending = 0;
	if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + RAM_SIZE) {
		k->ram[cmd - CMD_WRITE_RAM] = v;
		return false;
	}
	switch (cmd) {
	case CMD_WRITE_OUTPORT:
		k->outport = v | OUTPORT_RESET_N;
		return !(v & OUTPORT_RESET_N);
	case CMD_WRITE_KBD_OBUF:
		obuf_push(k, v);
		return false;
	case CMD_WRITE_AUX_OBUF:
		/* A controller with an AUX port would flag this byte as AUX data;
		 * handing it back as keyboard data makes Linux's loop test fail at
		 * once. */
		reply(k, v);
		return false;
	case CMD_WRITE_AUX:
		return false; /* no mouse on the other end */
	}
	keyboard_command(k, v);
	return false;
}

static void i8042_access_done(struct vs_i8042 *k, bool reset)
{
	pthread_mutex_unlock(&k->lock);
	/* Outside the lock: the machine may tear devices down in response. */
	if (reset)
		vs_stop_request(&k->stop, VS_STOP_RESET, 0);
}

static void fill_rest(uint8_t *data, uint32_t size)
{
	for (uint32_t i = 1; i < size; i++)
		data[i] = 0xff;
}

/* Both ports are one byte wide; the rest of a wider access is open bus. */
static void i8042_data_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_i8042 *k = opaque;
	if (size == 0)
		return;
	pthread_mutex_lock(&k->lock);
	data[0] = offset == 0 ? obuf_pop(k) : 0xff;
	pthread_mutex_unlock(&k->lock);
	fill_rest(data, size);
}

static void i8042_data_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_i8042 *k = opaque;
	bool reset = false;
	if (size == 0 || offset != 0)
		return;
	pthread_mutex_lock(&k->lock);
	k->status_cmd = 0;
	reset = data_write(k, data[0]);
	i8042_access_done(k, reset);
}

static void i8042_cmd_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_i8042 *k = opaque;
	if (size == 0)
		return;
	pthread_mutex_lock(&k->lock);
	data[0] = 0xff;
	if (offset == 0)
		data[0] = (uint8_t)((k->ocount ? STS_OBF : 0) | STS_SYS | k->status_cmd | STS_UNLOCKED);
	pthread_mutex_unlock(&k->lock);
	fill_rest(data, size);
}

static void i8042_cmd_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_i8042 *k = opaque;
	bool reset;
	if (size == 0 || offset != 0)
		return;
	pthread_mutex_lock(&k->lock);
	k->status_cmd = STS_CMD;
	reset = controller_command(k, data[0]);
	i8042_access_done(k, reset);
}

const struct vs_bus_ops vs_i8042_data_ops = { .read = i8042_data_read, .write = i8042_data_write };

const struct vs_bus_ops vs_i8042_cmd_ops = { .read = i8042_cmd_read, .write = i8042_cmd_write };

struct vs_i8042 *vs_i8042_create(const struct vs_stop_sink *stop)
{
	struct vs_i8042 *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	if (pthread_mutex_init(&k->lock, NULL) != 0) {
		free(k);
		return NULL;
	}
	if (stop)
		k->stop = *stop;
	k->rl = (struct vs_ratelimit)VS_RATELIMIT_INIT(1.0, 5.0);
	k->ram[0] = CTR_DEFAULT;
	k->outport = OUTPORT_DEFAULT;
	return k;
}

void vs_i8042_destroy(struct vs_i8042 *kbd)
{
	if (!kbd)
		return;
	pthread_mutex_destroy(&kbd->lock);
	free(kbd);
}

static void i8042_device_destroy(void *opaque)
{
	vs_i8042_destroy(opaque);
}

struct vs_device vs_i8042_device(struct vs_i8042 *kbd)
{
	return (struct vs_device){ .name = "i8042", .opaque = kbd, .destroy = i8042_device_destroy };
}

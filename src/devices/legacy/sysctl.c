/* System-control ports: isa-debug-exit, the ACPI PM1a blocks, the 0xcf9
 * reset register and the POST port.
 *
 * The 16-bit ACPI registers are handled a byte at a time, so an access of
 * any width at any offset inside a block does what the same bytes written
 * separately would; bytes past the end of a block are open bus.
 */
#include "devices/legacy/sysctl.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "hw/pc_layout.h"
#include "util/log.h"

#define PM1_EVT_LEN 4 /* PM1_STS at 0, PM1_EN at 2 */
#define PM1_CNT_LEN 2

#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_GBL_RLS 0x0004 /* write-only */
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK (0x7u << PM1_CNT_SLP_TYP_SHIFT)
#define PM1_CNT_SLP_EN 0x2000 /* write-only */

#define RST_SYS 0x02 /* full system reset rather than CPU-only */
#define RST_CPU 0x04 /* perform the reset */

struct vs_sysctl {
	pthread_mutex_t lock;
	struct vs_stop_sink stop;
	struct vs_ratelimit rl;

	uint16_t pm1_sts; /* nothing raises events, so stays 0 */
	uint16_t pm1_en;
	uint16_t pm1_cnt;
	uint8_t reset_reg;
	uint8_t post;
};

static uint32_t read_le(const uint8_t *data, uint32_t size)
{
	uint32_t v = 0;
	for (uint32_t i = 0; i < size && i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	return v;
}

static void fill_ones(uint8_t *data, uint32_t size)
{
	for (uint32_t i = 0; i < size; i++)
		data[i] = 0xff;
}

static uint16_t set_byte(uint16_t reg, unsigned int byte, uint8_t v)
{
	unsigned int shift = 8 * byte;
	return (uint16_t)((reg & ~(0xffu << shift)) | ((unsigned int)v << shift));
}

/* ---- isa-debug-exit ---------------------------------------------------- */

static void debug_exit_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	(void)opaque;
	(void)offset;
	fill_ones(data, size);
}

static void debug_exit_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_sysctl *sc = opaque;
	uint32_t v;
	if (offset != 0 || (size != 1 && size != 2 && size != 4))
		return;
	v = read_le(data, size);
	/* Process exit statuses keep 8 bits; dropping bit 31 only keeps the
	 * int conversion well-defined for 32-bit writes. */
	vs_stop_request(&sc->stop, VS_STOP_DEBUG_EXIT, (int)((((uint64_t)v << 1) | 1) & INT_MAX));
}

const struct vs_bus_ops vs_debug_exit_ops = { .read = debug_exit_read, .write = debug_exit_write };

/* ---- ACPI PM1a event block --------------------------------------------- */

static void pm1_evt_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_sysctl *sc = opaque;
	pthread_mutex_lock(&sc->lock);
	for (uint32_t i = 0; i < size; i++) {
		uint64_t off = offset + i;
		if (off >= PM1_EVT_LEN)
			data[i] = 0xff;
		else
			data[i] = (uint8_t)((off < 2 ? sc->pm1_sts : sc->pm1_en) >> (8 * (off & 1)));
	}
	pthread_mutex_unlock(&sc->lock);
}

static void pm1_evt_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_sysctl *sc = opaque;
	pthread_mutex_lock(&sc->lock);
	for (uint32_t i = 0; i < size; i++) {
		uint64_t off = offset + i;
		if (off >= PM1_EVT_LEN)
			continue;
		if (off < 2) /* write 1 to clear */
			sc->pm1_sts &= ~((unsigned int)data[i] << (8 * off));
		else
			sc->pm1_en = set_byte(sc->pm1_en, (unsigned int)(off & 1), data[i]);
	}
	pthread_mutex_unlock(&sc->lock);
}

const struct vs_bus_ops vs_acpi_pm1a_evt_ops = { .read = pm1_evt_read, .write = pm1_evt_write };

/* ---- ACPI PM1a control block ------------------------------------------- */

static void pm1_cnt_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_sysctl *sc = opaque;
	uint16_t v;
	pthread_mutex_lock(&sc->lock);
	/* Always in ACPI mode: there is no SMI handler to switch from. */
	v = sc->pm1_cnt | PM1_CNT_SCI_EN;
	pthread_mutex_unlock(&sc->lock);
	for (uint32_t i = 0; i < size; i++) {
		uint64_t off = offset + i;
		data[i] = off < PM1_CNT_LEN ? (uint8_t)(v >> (8 * off)) : 0xff;
	}
}

static void pm1_cnt_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_sysctl *sc = opaque;
	uint16_t v;
	bool touched = false, poweroff = false;
	unsigned int slp_typ;

	pthread_mutex_lock(&sc->lock);
	v = sc->pm1_cnt;
	for (uint32_t i = 0; i < size; i++) {
		uint64_t off = offset + i;
		if (off < PM1_CNT_LEN) {
			v = set_byte(v, (unsigned int)off, data[i]);
			touched = true;
		}
	}
	if (touched) {
		slp_typ = (v & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT;
		if (v & PM1_CNT_SLP_EN) {
			if (slp_typ == VS_ACPI_SLP_TYP_S5)
				poweroff = true;
			else if (vs_ratelimit_ok(&sc->rl))
				vs_warn("ACPI: sleep type %u is not supported; ignored", slp_typ);
		}
		sc->pm1_cnt = v & ~(PM1_CNT_SLP_EN | PM1_CNT_GBL_RLS);
	}
	pthread_mutex_unlock(&sc->lock);
	if (poweroff)
		vs_stop_request(&sc->stop, VS_STOP_POWEROFF, 0);
}

const struct vs_bus_ops vs_acpi_pm1a_cnt_ops = { .read = pm1_cnt_read, .write = pm1_cnt_write };

/* ---- reset control register (0xcf9) ------------------------------------ */

static void reset_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_sysctl *sc = opaque;
	fill_ones(data, size);
	if (offset != 0 || size == 0)
		return;
	pthread_mutex_lock(&sc->lock);
	data[0] = sc->reset_reg;
	pthread_mutex_unlock(&sc->lock);
}

static void reset_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_sysctl *sc = opaque;
	bool reset;
	if (offset != 0 || size == 0)
		return;
	pthread_mutex_lock(&sc->lock);
	sc->reset_reg = data[0];
	/* Linux writes RST_SYS first, then RST_SYS | RST_CPU (| full reset). */
	reset = (data[0] & (RST_SYS | RST_CPU)) == (RST_SYS | RST_CPU);
	pthread_mutex_unlock(&sc->lock);
	if (reset)
		vs_stop_request(&sc->stop, VS_STOP_RESET, 0);
}

const struct vs_bus_ops vs_reset_ops = { .read = reset_read, .write = reset_write };

/* ---- POST port --------------------------------------------------------- */

/* Reads give back the last code written, which is handy when debugging a
 * firmware that stopped somewhere. */
static void post_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_sysctl *sc = opaque;
	fill_ones(data, size);
	if (offset != 0 || size == 0)
		return;
	pthread_mutex_lock(&sc->lock);
	data[0] = sc->post;
	pthread_mutex_unlock(&sc->lock);
}

static void post_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_sysctl *sc = opaque;
	if (offset != 0 || size == 0)
		return;
	pthread_mutex_lock(&sc->lock);
	sc->post = data[0];
	pthread_mutex_unlock(&sc->lock);
}

const struct vs_bus_ops vs_post_port_ops = { .read = post_read, .write = post_write };

struct vs_sysctl *vs_sysctl_create(const struct vs_stop_sink *stop)
{
	struct vs_sysctl *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	if (pthread_mutex_init(&sc->lock, NULL) != 0) {
		free(sc);
		return NULL;
	}
	if (stop)
		sc->stop = *stop;
	sc->rl = (struct vs_ratelimit)VS_RATELIMIT_INIT(1.0, 5.0);
	sc->post = 0xff;
	return sc;
}

void vs_sysctl_destroy(struct vs_sysctl *sc)
{
	if (!sc)
		return;
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

static void sysctl_device_destroy(void *opaque)
{
	vs_sysctl_destroy(opaque);
}

struct vs_device vs_sysctl_device(struct vs_sysctl *sc)
{
	return (struct vs_device){ .name = "sysctl", .opaque = sc, .destroy = sysctl_device_destroy };
}

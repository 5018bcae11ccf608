/*
 * sim_identity.c - invented but realistic identities for virtual devices,
 * the same for the same seed and device index: A12+ UDIDs
 * ("00008110-001A2B3C4D5E6F70": chip ID, hyphen, 16-digit ECID), the USB
 * serial without the hyphen, product ID 0x12a8, iOS 17.5 (21F79),
 * Apple-style 10-character serial numbers and Wi-Fi MACs with Apple OUIs.
 */
#include "sim_int.h"

#include "ib_util.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *type;
	uint32_t chip;
} products[] = {
	/* product type, chip ID (the UDID's first half on A12 and later) */
	{ "iPhone14,5", 0x8110 },       /* iPhone 13, A15 */
	{ "iPhone14,2", 0x8110 },       /* iPhone 13 Pro */
	{ "iPhone14,7", 0x8110 },       /* iPhone 14 */
	{ "iPhone15,2", 0x8120 },       /* iPhone 14 Pro, A16 */
	{ "iPhone15,4", 0x8120 },       /* iPhone 15 */
	{ "iPhone16,1", 0x8130 },       /* iPhone 15 Pro, A17 Pro */
	{ "iPhone13,2", 0x8101 },       /* iPhone 12, A14 */
};

static const char *const apple_ouis[] = { "f0:18:98", "a4:83:e7", "3c:22:fb", "bc:d0:74" };

void
sim_identity(uint32_t seed, unsigned index, struct ib_sim_identity *id)
{
	/* Apple's newer serials: 10 characters, no vowels that read as digits. */
	static const char serial_chars[] = "0123456789CDFGHJKLMNPQRTVWXY";
	uint64_t s = ((uint64_t)seed << 32) ^ (0x5eed0000ull + index);
	size_t p = 0, i;
	uint64_t r;

	memset(id, 0, sizeof(*id));
	(void)sim_splitmix64(&s);
	if (index > 0)
		p = (size_t)(sim_splitmix64(&s) % IB_ARRAY_LEN(products));
	/* ECIDs are 13-14 hex digits; keep the UDID's 16-digit field "00..". */
	id->ecid = (sim_splitmix64(&s) & 0x000fffffffffffffull) | 0x0010000000000000ull;
	snprintf(id->udid, sizeof(id->udid), "%08X-%016llX", (unsigned)products[p].chip,
	    (unsigned long long)id->ecid);
	snprintf(id->usb_serial, sizeof(id->usb_serial), "%08X%016llX",
	    (unsigned)products[p].chip, (unsigned long long)id->ecid);
	id->product_id = 0x12a8;
	snprintf(id->product_type, sizeof(id->product_type), "%s", products[p].type);
	snprintf(id->product_version, sizeof(id->product_version), "17.5");
	snprintf(id->build_version, sizeof(id->build_version), "21F79");
	snprintf(id->device_name, sizeof(id->device_name), "Virtual iPhone %u", index + 1);
	snprintf(id->device_class, sizeof(id->device_class), "iPhone");
	r = sim_splitmix64(&s);
	for (i = 0; i < 10; i++, r /= sizeof(serial_chars) - 1)
		id->serial_number[i] = serial_chars[r % (sizeof(serial_chars) - 1)];
	r = sim_splitmix64(&s);
	snprintf(id->wifi_address, sizeof(id->wifi_address), "%s:%02x:%02x:%02x",
	    apple_ouis[r % IB_ARRAY_LEN(apple_ouis)], (unsigned)(r >> 8) & 0xff,
	    (unsigned)(r >> 16) & 0xff, (unsigned)(r >> 24) & 0xff);
}

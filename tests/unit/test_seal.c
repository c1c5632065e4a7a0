/*
 * test_seal.c - secrets/seal.c: round trip, every single-bit flip of a
 * record fails, wrong key or associated data fails, fresh nonces, empty and
 * 1 MiB values, malformed records. No Ceph needed.
 */
#include <sodium.h>

#include "secrets/seal.h"
#include "tests/unit/harness.h"

static unsigned char key[32], key2[32];
static const unsigned char keyid[SEAL_KEYID_BYTES] = "kid12345";
static const unsigned char ad[] = "cephvol-secret-v1|pool|db-password|3|0|0|400|kid12345";

static void
setup(void)
{
	REQUIRE(sodium_init() >= 0);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(key2, sizeof(key2));
}

static void
test_round_trip(void)
{
	const unsigned char pt[] = "hunter2";
	unsigned char *rec, *out;
	const unsigned char *id;
	size_t reclen, outlen;

	setup();
	CHECK_OK(seal_record(key, keyid, ad, sizeof(ad), pt, sizeof(pt), &rec, &reclen));
	CHECK_INT((int)reclen, (int)(sizeof(pt) + SEAL_OVERHEAD));
	CHECK(memcmp(rec, SEAL_MAGIC, 4) == 0);
	CHECK_OK(seal_keyid(rec, reclen, &id));
	CHECK(memcmp(id, keyid, SEAL_KEYID_BYTES) == 0);
	/* the plaintext appears nowhere in the record */
	CHECK(memmem(rec, reclen, "hunter2", 7) == NULL);
	CHECK_OK(seal_open(key, ad, sizeof(ad), rec, reclen, &out, &outlen));
	CHECK_INT((int)outlen, (int)sizeof(pt));
	CHECK(memcmp(out, pt, sizeof(pt)) == 0);
	sodium_free(out);
	free(rec);
}

static void
test_every_bit_flip_fails(void)
{
	const unsigned char pt[] = "a secret of some length";
	unsigned char *rec, *out = NULL;
	size_t reclen, outlen, bad = 0;

	setup();
	REQUIRE(seal_record(key, keyid, ad, sizeof(ad), pt, sizeof(pt), &rec, &reclen) == 0);
	for (size_t i = 0; i < reclen * 8; i++) {
		rec[i / 8] ^= (unsigned char)(1u << (i % 8));
		if (seal_open(key, ad, sizeof(ad), rec, reclen, &out, &outlen) != -EBADMSG)
			bad++;
		rec[i / 8] ^= (unsigned char)(1u << (i % 8));
	}
	CHECK_INT((int)bad, 0);
	/* and it still opens once restored */
	CHECK_OK(seal_open(key, ad, sizeof(ad), rec, reclen, &out, &outlen));
	sodium_free(out);
	free(rec);
}

static void
test_wrong_key_or_ad_fails(void)
{
	const unsigned char pt[] = "v";
	unsigned char other[sizeof(ad)];
	unsigned char *rec, *out;
	size_t reclen, outlen;

	setup();
	REQUIRE(seal_record(key, keyid, ad, sizeof(ad), pt, sizeof(pt), &rec, &reclen) == 0);
	CHECK_ERR(seal_open(key2, ad, sizeof(ad), rec, reclen, &out, &outlen), -EBADMSG);
	/* another version (a rollback or a swap) is other associated data */
	memcpy(other, ad, sizeof(ad));
	other[sizeof("cephvol-secret-v1|pool|db-password|") - 1] = '2';
	CHECK_ERR(seal_open(key, other, sizeof(other), rec, reclen, &out, &outlen), -EBADMSG);
	CHECK_ERR(seal_open(key, ad, sizeof(ad) - 1, rec, reclen, &out, &outlen), -EBADMSG);
	CHECK_ERR(seal_open(key, NULL, 0, rec, reclen, &out, &outlen), -EBADMSG);
	free(rec);
}

static void
test_nonce_fresh(void)
{
	const unsigned char pt[] = "same";
	unsigned char *a, *b;
	size_t alen, blen;

	setup();
	REQUIRE(seal_record(key, keyid, ad, sizeof(ad), pt, sizeof(pt), &a, &alen) == 0);
	REQUIRE(seal_record(key, keyid, ad, sizeof(ad), pt, sizeof(pt), &b, &blen) == 0);
	CHECK(alen == blen);
	CHECK(memcmp(a + 4 + SEAL_KEYID_BYTES, b + 4 + SEAL_KEYID_BYTES, SEAL_NONCE_BYTES) != 0);
	CHECK(memcmp(a + SEAL_HDR_BYTES, b + SEAL_HDR_BYTES, alen - SEAL_HDR_BYTES) != 0);
	free(a);
	free(b);
}

static void
test_empty_and_large(void)
{
	size_t big = 1 << 20;
	unsigned char *pt, *rec, *out;
	size_t reclen, outlen;

	setup();
	CHECK_OK(seal_record(key, keyid, ad, sizeof(ad), (const unsigned char *)"", 0,
	    &rec, &reclen));
	CHECK_INT((int)reclen, SEAL_OVERHEAD);
	CHECK_OK(seal_open(key, ad, sizeof(ad), rec, reclen, &out, &outlen));
	CHECK_INT((int)outlen, 0);
	sodium_free(out);
	free(rec);

	pt = sodium_malloc(big);
	REQUIRE(pt != NULL);
	randombytes_buf(pt, big);
	CHECK_OK(seal_record(key, keyid, ad, sizeof(ad), pt, big, &rec, &reclen));
	CHECK_OK(seal_open(key, ad, sizeof(ad), rec, reclen, &out, &outlen));
	CHECK(outlen == big && memcmp(out, pt, big) == 0);
	sodium_free(out);
	sodium_free(pt);
	free(rec);
}

static void
test_malformed(void)
{
	unsigned char junk[SEAL_OVERHEAD + 8];
	const unsigned char *id;
	unsigned char *out;
	size_t outlen;

	setup();
	memset(junk, 0, sizeof(junk));
	CHECK_ERR(seal_keyid(junk, sizeof(junk), &id), -EBADMSG);	/* no magic */
	CHECK_ERR(seal_open(key, ad, sizeof(ad), junk, sizeof(junk), &out, &outlen), -EBADMSG);
	memcpy(junk, SEAL_MAGIC, 4);
	CHECK_ERR(seal_open(key, ad, sizeof(ad), junk, sizeof(junk), &out, &outlen), -EBADMSG);
	CHECK_ERR(seal_open(key, ad, sizeof(ad), junk, SEAL_OVERHEAD - 1, &out, &outlen), -EBADMSG);
	CHECK_ERR(seal_open(key, ad, sizeof(ad), junk, 0, &out, &outlen), -EBADMSG);
	CHECK_ERR(seal_keyid(NULL, 0, &id), -EBADMSG);
}

HARNESS_MAIN(CASE(test_round_trip), CASE(test_every_bit_flip_fails),
    CASE(test_wrong_key_or_ad_fails), CASE(test_nonce_fresh),
    CASE(test_empty_and_large), CASE(test_malformed))

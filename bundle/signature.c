/* SPDX-License-Identifier: Apache-2.0 */
/* CMS signatures over the manifest: signing on the build host, verification
 * against a keyring with chain, key-usage and (optionally) time checks. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bundle/bundle-private.h"

/* Three ways a signature fails, each with its reason (sysutil.h): the CMS is
 * not a signature of the manifest; it is, by a signer the keyring does not
 * trust (or not for code signing); or a key or digest is below the policy. */
#define signature_invalid(err, ...) ota_error_set_because(err, OTA_REASON_SIGNATURE_INVALID, -EBADMSG, __VA_ARGS__)
#define signer_untrusted(err, ...) ota_error_set_because(err, OTA_REASON_SIGNER_UNTRUSTED, -EKEYREJECTED, __VA_ARGS__)
#define policy_refuses(err, ...) ota_error_set_because(err, OTA_REASON_ALGORITHM_REJECTED, -EKEYREJECTED, __VA_ARGS__)

OTA_DEFINE_CLEANUP_FUNC(BIO *, BIO_free)
OTA_DEFINE_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
OTA_DEFINE_CLEANUP_FUNC(CMS_ContentInfo *, CMS_ContentInfo_free)
OTA_DEFINE_CLEANUP_FUNC(X509_STORE *, X509_STORE_free)
OTA_DEFINE_CLEANUP_FUNC(X509_STORE_CTX *, X509_STORE_CTX_free)
/* Stacks take the free function of their elements: no one-argument
 * destructor for the macro above. */
static void certs_freep(STACK_OF(X509) **p)
{
	sk_X509_pop_free(*p, X509_free);
}
/* For stacks that do not own their certificates (CMS_get0_signers). */
static void certs_shallow_freep(STACK_OF(X509) **p)
{
	sk_X509_free(*p);
}

/* The innermost OpenSSL reason, for messages; clears the queue. */
static const char *ssl_reason(char *buf, size_t size)
{
	unsigned long e, last = 0;
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (!last)
		return "no details";
	ERR_error_string_n(last, buf, size);
	return buf;
}

/* ---- algorithm policy ---------------------------------------------------- */

static unsigned at_least(unsigned wanted, unsigned floor)
{
	return wanted > floor ? wanted : floor;
}

static struct ota_bundle_algorithms effective_policy(const struct ota_bundle_algorithms *a)
{
	struct ota_bundle_algorithms p = {
		.min_rsa_bits = at_least(a ? a->min_rsa_bits : 0, OTA_BUNDLE_MIN_RSA_BITS),
		.min_ec_bits = at_least(a ? a->min_ec_bits : 0, OTA_BUNDLE_MIN_EC_BITS),
		.min_digest_bits = at_least(a ? a->min_digest_bits : 0, OTA_BUNDLE_MIN_DIGEST_BITS),
	};
	return p;
}

/* A digest by NID, for the message digest of the CMS and of certificate
 * signatures. NID_undef (Ed25519 signs without a separate digest) passes. */
static int check_digest(int nid, const struct ota_bundle_algorithms *p, const char *what, struct ota_error *err)
{
	if (nid == NID_undef)
		return 0;
	const EVP_MD *md = EVP_get_digestbynid(nid);
	unsigned bits = md ? (unsigned)EVP_MD_get_size(md) * 8 : 0;
	/* SHA-512/224 and SHA-512/256 have their output size; MD5-SHA1 is a TLS
	 * construction, never a signature digest. */
	if (!md || nid == NID_md5_sha1 || bits < p->min_digest_bits)
		return policy_refuses(err, "%s uses the digest %s (%u bits); the policy needs at least %u bits",
				      what, OBJ_nid2sn(nid), bits, p->min_digest_bits);
	return 0;
}

static int check_key(EVP_PKEY *key, const struct ota_bundle_algorithms *p, const char *what, struct ota_error *err)
{
	if (!key)
		return policy_refuses(err, "%s: cannot read its public key", what);
	int id = EVP_PKEY_get_base_id(key);
	unsigned bits = (unsigned)EVP_PKEY_get_bits(key);
	switch (id) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		if (bits >= p->min_rsa_bits)
			return 0;
		return policy_refuses(err, "%s has an RSA-%u key; the policy needs at least RSA-%u", what,
				      bits, p->min_rsa_bits);
	case EVP_PKEY_EC:
		if (bits >= p->min_ec_bits)
			return 0;
		return policy_refuses(err, "%s has a %u-bit EC key; the policy needs at least %u bits", what,
				      bits, p->min_ec_bits);
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		return 0;
	default:
		return policy_refuses(err, "%s has a %s key, which the policy does not accept", what,
				      OBJ_nid2sn(id));
	}
}

/* The digest of a certificate's own signature (by its issuer). */
static int check_cert_signature(X509 *x, const struct ota_bundle_algorithms *p, const char *what,
				struct ota_error *err)
{
	int md = NID_undef, pk = NID_undef;
	if (!OBJ_find_sigid_algs(X509_get_signature_nid(x), &md, &pk))
		return policy_refuses(err, "%s is signed with the unknown algorithm %s", what,
				      OBJ_nid2sn(X509_get_signature_nid(x)));
	return check_digest(md, p, what, err);
}

/* Every key of the verified chain (signer ... anchor) and every certificate
 * signature made by a key of the chain; the anchor's signature on itself
 * proves nothing and is not checked. */
static int check_chain_algorithms(STACK_OF(X509) *chain, const struct ota_bundle_algorithms *p, struct ota_error *err)
{
	int n = sk_X509_num(chain);
	for (int i = 0; i < n; i++) {
		X509 *x = sk_X509_value(chain, i);
		char what[300];
		char name[256];
		X509_NAME_oneline(X509_get_subject_name(x), name, sizeof(name));
		snprintf(what, sizeof(what), "certificate '%s'", name);
		int r = check_key(X509_get0_pubkey(x), p, what, err);
		if (r == 0 && i + 1 < n)
			r = check_cert_signature(x, p, what, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The SignerInfo: its message digest and, where the signature algorithm
 * names a digest of its own (sha1WithRSAEncryption, ...), that one too. */
static int check_signer_info(CMS_SignerInfo *si, const struct ota_bundle_algorithms *p, struct ota_error *err)
{
	X509_ALGOR *dig = NULL, *sig = NULL;
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
	int r = check_digest(dig ? OBJ_obj2nid(dig->algorithm) : NID_undef, p, "the signature", err);
	int md = NID_undef, pk = NID_undef;
	if (r == 0 && sig && OBJ_find_sigid_algs(OBJ_obj2nid(sig->algorithm), &md, &pk))
		r = check_digest(md, p, "the signature algorithm", err);
	return r;
}

static int load_certs(const char *path, STACK_OF(X509) **ret, struct ota_error *err)
{
	_cleanup_(BIO_freep) BIO *in = BIO_new_file(path, "r");
	if (!in)
		return ota_error_set(err, -ENOENT, "cannot open certificate file '%s'", path);
	_cleanup_(certs_freep) STACK_OF(X509) *certs = sk_X509_new_null();
	if (!certs)
		return ota_error_set(err, -ENOMEM, "out of memory");
	X509 *x;
	while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			return ota_error_set(err, -ENOMEM, "out of memory");
		}
	ERR_clear_error(); /* the loop ends with a "no start line" error */
	if (sk_X509_num(certs) == 0)
		return ota_error_set(err, -EINVAL, "no PEM certificate in '%s'", path);
	*ret = TAKE_PTR(certs);
	return 0;
}

int ota_bundle_sign_data(const uint8_t *data, size_t size, const char *cert, const char *key, const char *chain,
			 uint8_t **ret, size_t *ret_size, struct ota_error *err)
{
	char why[256];
	_cleanup_(certs_freep) STACK_OF(X509) *signer = NULL, *extra = NULL;
	int r = load_certs(cert, &signer, err);
	if (r < 0)
		return r;
	if (chain && (r = load_certs(chain, &extra, err)) < 0)
		return r;
	_cleanup_(BIO_freep) BIO *kin = BIO_new_file(key, "r");
	if (!kin)
		return ota_error_set(err, -ENOENT, "cannot open key file '%s'", key);
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = PEM_read_bio_PrivateKey(kin, NULL, NULL, NULL);
	if (!pkey)
		return ota_error_set(err, -EINVAL, "cannot read a private key from '%s': %s", key,
				     ssl_reason(why, sizeof(why)));
	if (!X509_check_private_key(sk_X509_value(signer, 0), pkey))
		return ota_error_set(err, -EINVAL, "key '%s' does not belong to certificate '%s'", key, cert);
	struct ota_bundle_algorithms floor = effective_policy(NULL);
	char what[PATH_MAX + 16];
	snprintf(what, sizeof(what), "key '%s'", key);
	if ((r = check_key(pkey, &floor, what, err)) < 0)
		return r;
	_cleanup_(BIO_freep) BIO *in = BIO_new_mem_buf(data, (int)size);
	if (!in || size > INT_MAX)
		return ota_error_set(err, -ENOMEM, "out of memory");
	_cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms =
		CMS_sign(sk_X509_value(signer, 0), pkey, extra, in, CMS_DETACHED | CMS_BINARY);
	if (!cms)
		return ota_error_set(err, -EINVAL, "signing with '%s' failed: %s", key, ssl_reason(why, sizeof(why)));
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(cms, &der);
	if (n <= 0)
		return ota_error_set(err, -ENOMEM, "encoding the signature failed");
	if ((size_t)n > OTA_BUNDLE_MAX_SIGNATURE) {
		OPENSSL_free(der);
		return ota_error_set(err, -E2BIG, "signature of %d bytes exceeds the %u byte limit (too many chain certificates?)",
				     n, OTA_BUNDLE_MAX_SIGNATURE);
	}
	/* Hand out malloc'd memory, as the header promises. */
	uint8_t *out = malloc((size_t)n);
	if (out)
		memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	if (!out)
		return ota_error_set(err, -ENOMEM, "out of memory");
	*ret = out;
	*ret_size = (size_t)n;
	return 0;
}

static int parse_cms(const uint8_t *sig, size_t sig_size, CMS_ContentInfo **ret, struct ota_error *err)
{
	if (sig_size == 0 || sig_size > OTA_BUNDLE_MAX_SIGNATURE)
		return signature_invalid(err, "signature: size %zu out of range", sig_size);
	const unsigned char *p = sig;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)sig_size);
	ERR_clear_error();
	if (!cms)
		return signature_invalid(err, "signature: not a DER CMS structure");
	if (p != sig + sig_size) {
		CMS_ContentInfo_free(cms);
		return signature_invalid(err, "signature: %zu trailing bytes after the CMS", (size_t)(sig + sig_size - p));
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		CMS_ContentInfo_free(cms);
		return signature_invalid(err, "signature: CMS is not SignedData");
	}
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) != 1) {
		int n = sk_CMS_SignerInfo_num(sis);
		CMS_ContentInfo_free(cms);
		return signature_invalid(err, "signature: expected exactly one signer, found %d", n);
	}
	*ret = cms;
	return 0;
}

static void describe_cert(X509 *x, struct ota_bundle_signer_info *info)
{
	X509_NAME_oneline(X509_get_subject_name(x), info->subject, sizeof(info->subject));
	X509_NAME_oneline(X509_get_issuer_name(x), info->issuer, sizeof(info->issuer));
}

int ota_bundle_signature_describe(const uint8_t *sig, size_t sig_size, struct ota_bundle_signer_info *ret,
				  struct ota_error *err)
{
	_cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
	int r = parse_cms(sig, sig_size, &cms, err);
	if (r < 0)
		return r;
	/* Matches the signer id against the certificates in the CMS only. */
	(void)CMS_set1_signers_certs(cms, NULL, 0);
	ERR_clear_error();
	X509 *signer = NULL;
	CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0), NULL, &signer, NULL, NULL);
	if (!signer)
		return signature_invalid(err, "signature: the signer's certificate is not included");
	describe_cert(signer, ret);
	return 0;
}

static int load_keyring(const struct ota_bundle_trust *t, X509_STORE **ret, struct ota_error *err)
{
	if (!t->keyring)
		return ota_error_set_because(err, OTA_REASON_CONFIG, -EINVAL, "no keyring given to verify the signature against");
	_cleanup_(certs_freep) STACK_OF(X509) *cas = NULL;
	int r = load_certs(t->keyring, &cas, err);
	if (r < 0) {
		ota_error_prefix(err, "keyring: ");
		ota_error_classify(err, OTA_REASON_CONFIG);
		return r;
	}
	_cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
	if (!store)
		return ota_error_set(err, -ENOMEM, "out of memory");
	for (int i = 0; i < sk_X509_num(cas); i++)
		if (!X509_STORE_add_cert(store, sk_X509_value(cas, i)))
			return ota_error_set(err, -ENOMEM, "keyring '%s': cannot add certificate %d", t->keyring, i);
	/* Every keyring certificate is an anchor (so a keyring may pin an
	 * intermediate); key usage is checked by us, not by an S/MIME purpose. */
	unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT;
	if (!t->check_time)
		flags |= X509_V_FLAG_NO_CHECK_TIME;
	X509_VERIFY_PARAM *param = X509_STORE_get0_param(store);
	X509_VERIFY_PARAM_set_flags(param, flags);
	*ret = TAKE_PTR(store);
	return 0;
}

static int check_chain(X509_STORE *store, X509 *signer, STACK_OF(X509) *untrusted, const char *who,
		       const struct ota_bundle_algorithms *policy, struct ota_error *err)
{
	_cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	if (!ctx || !X509_STORE_CTX_init(ctx, store, signer, untrusted))
		return ota_error_set(err, -ENOMEM, "out of memory");
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		ERR_clear_error();
		return signer_untrusted(err, "signer '%s' is not trusted: %s (at depth %d)", who,
					X509_verify_cert_error_string(e), X509_STORE_CTX_get_error_depth(ctx));
	}
	int r = check_chain_algorithms(X509_STORE_CTX_get0_chain(ctx), policy, err);
	if (r < 0)
		ota_error_prefix(err, "signer '%s' is not trusted: ", who);
	return r;
}

static int check_usage(X509 *signer, const char *who, struct ota_error *err)
{
	uint32_t ku = X509_get_key_usage(signer);
	if (ku != UINT32_MAX && !(ku & KU_DIGITAL_SIGNATURE))
		return signer_untrusted(err, "signer '%s' lacks the digitalSignature key usage", who);
	uint32_t xku = X509_get_extended_key_usage(signer);
	if (xku != UINT32_MAX && !(xku & XKU_CODE_SIGN))
		return signer_untrusted(err, "signer '%s' lacks the codeSigning extended key usage", who);
	return 0;
}

int ota_bundle_verify_data(const uint8_t *data, size_t size, const uint8_t *sig, size_t sig_size,
			   const struct ota_bundle_trust *trust, struct ota_bundle_signer_info *ret_info,
			   struct ota_error *err)
{
	char why[256];
	_cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
	int r = load_keyring(trust, &store, err);
	if (r < 0)
		return r;
	_cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
	if ((r = parse_cms(sig, sig_size, &cms, err)) < 0)
		return r;
	_cleanup_(BIO_freep) BIO *in = BIO_new_mem_buf(data, (int)size);
	if (!in || size > INT_MAX)
		return ota_error_set(err, -ENOMEM, "out of memory");
	/* First the maths (the signature covers these bytes), then the signer;
	 * the chain is checked below so its error can be reported precisely. */
	if (CMS_verify(cms, NULL, store, in, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1)
		return signature_invalid(err, "signature does not match the manifest: %s",
					 ssl_reason(why, sizeof(why)));
	_cleanup_(certs_shallow_freep) STACK_OF(X509) *signers = CMS_get0_signers(cms);
	_cleanup_(certs_freep) STACK_OF(X509) *carried = CMS_get1_certs(cms);
	if (!signers || sk_X509_num(signers) != 1)
		return signature_invalid(err, "signature: signer certificate not found");
	X509 *signer = sk_X509_value(signers, 0);
	struct ota_bundle_signer_info info = { 0 };
	describe_cert(signer, &info);
	struct ota_bundle_algorithms policy = effective_policy(&trust->algorithms);
	r = check_signer_info(sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0), &policy, err);
	if (r == 0)
		r = check_chain(store, signer, carried, info.subject, &policy, err);
	if (r == 0)
		r = check_usage(signer, info.subject, err);
	if (r < 0)
		return r;
	if (ret_info)
		*ret_info = info;
	return 0;
}

/* CMS signatures over the manifest: signing on the build host, verification
 * against a keyring with chain, key-usage and (optionally) time checks. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bundle/bundle-private.h"

static void bio_freep(BIO **p)
{
	BIO_free(*p);
}
static void pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}
static void cms_freep(CMS_ContentInfo **p)
{
	CMS_ContentInfo_free(*p);
}
static void store_freep(X509_STORE **p)
{
	X509_STORE_free(*p);
}
static void store_ctx_freep(X509_STORE_CTX **p)
{
	X509_STORE_CTX_free(*p);
}
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

static int load_certs(const char *path, STACK_OF(X509) **ret, struct ota_error *err)
{
	_cleanup_(bio_freep) BIO *in = BIO_new_file(path, "r");
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
	_cleanup_(bio_freep) BIO *kin = BIO_new_file(key, "r");
	if (!kin)
		return ota_error_set(err, -ENOENT, "cannot open key file '%s'", key);
	_cleanup_(pkey_freep) EVP_PKEY *pkey = PEM_read_bio_PrivateKey(kin, NULL, NULL, NULL);
	if (!pkey)
		return ota_error_set(err, -EINVAL, "cannot read a private key from '%s': %s", key,
				     ssl_reason(why, sizeof(why)));
	if (!X509_check_private_key(sk_X509_value(signer, 0), pkey))
		return ota_error_set(err, -EINVAL, "key '%s' does not belong to certificate '%s'", key, cert);
	_cleanup_(bio_freep) BIO *in = BIO_new_mem_buf(data, (int)size);
	if (!in || size > INT_MAX)
		return ota_error_set(err, -ENOMEM, "out of memory");
	_cleanup_(cms_freep) CMS_ContentInfo *cms =
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
		return ota_error_set(err, -EBADMSG, "signature: size %zu out of range", sig_size);
	const unsigned char *p = sig;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)sig_size);
	ERR_clear_error();
	if (!cms)
		return ota_error_set(err, -EBADMSG, "signature: not a DER CMS structure");
	if (p != sig + sig_size) {
		CMS_ContentInfo_free(cms);
		return ota_error_set(err, -EBADMSG, "signature: %zu trailing bytes after the CMS", (size_t)(sig + sig_size - p));
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		CMS_ContentInfo_free(cms);
		return ota_error_set(err, -EBADMSG, "signature: CMS is not SignedData");
	}
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) != 1) {
		int n = sk_CMS_SignerInfo_num(sis);
		CMS_ContentInfo_free(cms);
		return ota_error_set(err, -EBADMSG, "signature: expected exactly one signer, found %d", n);
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
	_cleanup_(cms_freep) CMS_ContentInfo *cms = NULL;
	int r = parse_cms(sig, sig_size, &cms, err);
	if (r < 0)
		return r;
	/* Matches the signer id against the certificates in the CMS only. */
	(void)CMS_set1_signers_certs(cms, NULL, 0);
	ERR_clear_error();
	X509 *signer = NULL;
	CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0), NULL, &signer, NULL, NULL);
	if (!signer)
		return ota_error_set(err, -EBADMSG, "signature: the signer's certificate is not included");
	describe_cert(signer, ret);
	return 0;
}

static int load_keyring(const struct ota_bundle_trust *t, X509_STORE **ret, struct ota_error *err)
{
	if (!t->keyring)
		return ota_error_set(err, -EINVAL, "no keyring given to verify the signature against");
	_cleanup_(certs_freep) STACK_OF(X509) *cas = NULL;
	int r = load_certs(t->keyring, &cas, err);
	if (r < 0) {
		ota_error_prefix(err, "keyring: ");
		return r;
	}
	_cleanup_(store_freep) X509_STORE *store = X509_STORE_new();
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
	if (t->check_time)
		X509_VERIFY_PARAM_set_time(param, t->now ? t->now : time(NULL));
	*ret = TAKE_PTR(store);
	return 0;
}

static int check_chain(X509_STORE *store, X509 *signer, STACK_OF(X509) *untrusted, const char *who,
		       struct ota_error *err)
{
	_cleanup_(store_ctx_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	if (!ctx || !X509_STORE_CTX_init(ctx, store, signer, untrusted))
		return ota_error_set(err, -ENOMEM, "out of memory");
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		ERR_clear_error();
		return ota_error_set(err, -EKEYREJECTED, "signer '%s' is not trusted: %s (at depth %d)", who,
				     X509_verify_cert_error_string(e), X509_STORE_CTX_get_error_depth(ctx));
	}
	return 0;
}

static int check_usage(X509 *signer, const char *who, struct ota_error *err)
{
	uint32_t ku = X509_get_key_usage(signer);
	if (ku != UINT32_MAX && !(ku & KU_DIGITAL_SIGNATURE))
		return ota_error_set(err, -EKEYREJECTED, "signer '%s' lacks the digitalSignature key usage", who);
	uint32_t xku = X509_get_extended_key_usage(signer);
	if (xku != UINT32_MAX && !(xku & XKU_CODE_SIGN))
		return ota_error_set(err, -EKEYREJECTED, "signer '%s' lacks the codeSigning extended key usage", who);
	return 0;
}

int ota_bundle_verify_data(const uint8_t *data, size_t size, const uint8_t *sig, size_t sig_size,
			   const struct ota_bundle_trust *trust, struct ota_bundle_signer_info *ret_info,
			   struct ota_error *err)
{
	char why[256];
	_cleanup_(store_freep) X509_STORE *store = NULL;
	int r = load_keyring(trust, &store, err);
	if (r < 0)
		return r;
	_cleanup_(cms_freep) CMS_ContentInfo *cms = NULL;
	if ((r = parse_cms(sig, sig_size, &cms, err)) < 0)
		return r;
	_cleanup_(bio_freep) BIO *in = BIO_new_mem_buf(data, (int)size);
	if (!in || size > INT_MAX)
		return ota_error_set(err, -ENOMEM, "out of memory");
	/* First the maths (the signature covers these bytes), then the signer;
	 * the chain is checked below so its error can be reported precisely. */
	if (CMS_verify(cms, NULL, store, in, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1)
		return ota_error_set(err, -EBADMSG, "signature does not match the manifest: %s",
				     ssl_reason(why, sizeof(why)));
	_cleanup_(certs_shallow_freep) STACK_OF(X509) *signers = CMS_get0_signers(cms);
	_cleanup_(certs_freep) STACK_OF(X509) *carried = CMS_get1_certs(cms);
	if (!signers || sk_X509_num(signers) != 1)
		return ota_error_set(err, -EBADMSG, "signature: signer certificate not found");
	X509 *signer = sk_X509_value(signers, 0);
	struct ota_bundle_signer_info info = { 0 };
	describe_cert(signer, &info);
	r = check_chain(store, signer, carried, info.subject, err);
	if (r == 0)
		r = check_usage(signer, info.subject, err);
	if (r < 0)
		return r;
	if (ret_info)
		*ret_info = info;
	return 0;
}

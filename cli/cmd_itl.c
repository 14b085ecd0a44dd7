/*
 * The offline file commands of itl-admin: show itl, verify itl, resign itl.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "commands.h"
#include "err.h"
#include "fsutil.h"
#include "itl.h"

/* ---- option parsing shared by the three commands ---- */

typedef struct {
    const char *file, *trust, *key, *cert, *out, *digest;
    int json;
    int force;          /* resign itl: --out may replace --file */
    const char *socket; /* show itl without --file: the agent */
    const char *config;
} s_opts_t;

/* Parses argv into o; returns 0, or 2 after printing the usage. */
static int
s_parse_opts(const char *words, int argc, char **argv, s_opts_t *o)
{
    static const struct option longopts[] = {
        {"file", required_argument, NULL, 'f'},
        {"trust", required_argument, NULL, 't'},
        {"key", required_argument, NULL, 'k'},
        {"cert", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"digest", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"socket", required_argument, NULL, 'S'},
        {"config", required_argument, NULL, 'C'},
        {"force", no_argument, NULL, 'F'},
        {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof(*o));
    optind = 0;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            o->file = optarg;
            break;
        case 't':
            o->trust = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'c':
            o->cert = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'd':
            o->digest = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'S':
            o->socket = optarg;
            break;
        case 'C':
            o->config = optarg;
            break;
        case 'F':
            o->force = 1;
            break;
        default:
            return cmd_usage(words);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "itl-admin %s: unexpected argument \"%s\"\n", words,
                argv[optind]);
        return cmd_usage(words);
    }
    return 0;
}

/* ---- formatting helpers ---- */

/* "AB:CD:..." upper-case hex with colons (serial numbers). */
static void
s_colon_hex(const itl_elem_t *e, char *out, size_t size)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; e != NULL && i < e->len && used + 4 <= size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%02X",
                                 i ? ":" : "", e->value[i]);
}

/* "AB CD ..." upper-case hex with spaces (hashes). */
static void
s_space_hex(const uint8_t *p, size_t n, char *out, size_t size)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && used + 4 <= size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%02X",
                                 i ? " " : "", p[i]);
}

/* Lower-case hex without separators. */
static void
s_plain_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

/*
 * A text value up to its NUL, with anything unprintable shown as '?' so a
 * hostile file cannot drive the terminal.
 */
static void
s_text(const itl_elem_t *e, char *out, size_t size)
{
    size_t n = 0;

    for (size_t i = 0; e != NULL && i < e->len && n + 1 < size; i++) {
        uint8_t c = e->value[i];
        if (c == '\0')
            break;
        out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[n] = '\0';
}

static void
s_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* "ITL" or "CTL" from the header's FILENAME. */
static const char *
s_kind(const itl_file_t *f)
{
    char name[64];

    s_text(itl_file_header_find(f, ITL_H_FILENAME), name, sizeof(name));
    return strncmp(name, "CTL", 3) == 0 ? "CTL" : "ITL";
}

static void
s_sha1_of(const itl_elem_t *e, uint8_t d[20])
{
    EVP_Digest(e->value, e->len, d, NULL, EVP_sha1(), NULL);
}

/* ---- show itl ---- */

static void
s_show_value(const itl_elem_t *e, int in_header, FILE *out)
{
    char buf[1024];

    if (in_header && itl_is_container(e->tag)) {
        fprintf(out, "%u %s 2 %u\n", e->tag, itl_htag_name(e->tag), e->len);
        return;
    }
    fprintf(out, "%u %s %u", e->tag,
            in_header ? itl_htag_name(e->tag) : itl_rtag_name(e->tag), e->len);
    if (in_header) {
        switch (e->tag) {
        case ITL_H_SIGNERNAME:
        case ITL_H_CANAME:
        case ITL_H_FILENAME:
            s_text(e, buf, sizeof(buf));
            fprintf(out, " %s", buf);
            break;
        case ITL_H_SERIALNUMBER:
            s_colon_hex(e, buf, sizeof(buf));
            fprintf(out, " %s", buf);
            break;
        case ITL_H_VERSION:
        case ITL_H_SIGNERVERSION:
            if (e->len == 2)
                fprintf(out, " %u.%u", e->value[0], e->value[1]);
            break;
        case ITL_H_DIGESTALGORITHM:
            if (e->len == 1)
                fprintf(out, " %s", itl_digest_name(e->value[0]));
            break;
        case ITL_H_SIGNATUREALGORITHM:
            if (e->len == 1)
                fprintf(out, " %s", e->value[0] == 0 ? "RSA" : "unknown");
            break;
        case ITL_H_SIGNATUREMODULUS:
            if (e->len == 1)
                fprintf(out, " %u (%u-byte signature)", e->value[0],
                        e->value[0] < 4 ? 64u << e->value[0] : 0);
            break;
        case ITL_H_TIMESTAMP:
            if (e->len == 4) {
                time_t t = (time_t)(((uint32_t)e->value[0] << 24) |
                                    ((uint32_t)e->value[1] << 16) |
                                    ((uint32_t)e->value[2] << 8) | e->value[3]);
                struct tm tm;
                gmtime_r(&t, &tm);
                strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
                fprintf(out, " %s", buf);
            }
            break;
        case ITL_H_SIGNATURE:
            for (size_t i = 0; i < e->len; i++)
                fprintf(out, "%s%02x", i % 16 == 0 ? "\n" : " ", e->value[i]);
            break;
        }
        fputc('\n', out);
        return;
    }
    switch (e->tag) {
    case ITL_R_RECORDLENGTH:
        if (e->len == 2)
            fprintf(out, " %u", (unsigned)e->value[0] << 8 | e->value[1]);
        break;
    case ITL_R_DNSNAME:
    case ITL_R_SUBJECTNAME:
    case ITL_R_ISSUERNAME:
        s_text(e, buf, sizeof(buf));
        if (buf[0] != '\0')
            fprintf(out, " %s", buf);
        break;
    case ITL_R_FUNCTION:
        if (e->len == 2)
            fprintf(out, " %s",
                    itl_role_name((int)e->value[0] << 8 | e->value[1]));
        break;
    case ITL_R_SERIALNUMBER:
        s_colon_hex(e, buf, sizeof(buf));
        fprintf(out, " %s", buf);
        break;
    case ITL_R_CERTIFICATE: {
        uint8_t d[20];
        s_sha1_of(e, d);
        s_space_hex(d, 20, buf, sizeof(buf));
        fprintf(out, " %s (SHA1 Hash HEX)", buf);
        break;
    }
    case ITL_R_IPADDRESS:
        if (e->len == 4)
            fprintf(out, " %u.%u.%u.%u", e->value[0], e->value[1], e->value[2],
                    e->value[3]);
        break;
    case ITL_R_CERTHASH:
        s_space_hex(e->value, e->len, buf, sizeof(buf));
        fprintf(out, " %s", buf);
        break;
    case ITL_R_HASHALGORITHM:
        if (e->len == 1)
            fprintf(out, " %s", itl_digest_name(e->value[0]));
        break;
    }
    fputc('\n', out);
}

/* What show itl learns about a file before printing it. */
typedef struct {
    const char *path;
    itl_file_t *f;
    char md5[33], sha1[41], modified[64], iso[32];
    int verify_rc;
    char verify_detail[512];
    int signer;
} s_show_t;

static void
s_show_text(const s_show_t *s, FILE *out)
{
    const itl_file_t *f = s->f;
    const char *kind = s_kind(f);
    unsigned v = itl_file_version(f);
    size_t len;

    itl_file_bytes(f, &len);
    fprintf(out, "The checksum value of the %s file:\n%s(MD5)\n%s(SHA1)\n\n",
            kind, s->md5, s->sha1);
    fprintf(out, "Length of %s file: %zu\n", kind, len);
    fprintf(out, "The %s File was last modified on %s\n\n", kind, s->modified);
    fprintf(out, "Parse %s File\n----------------\n", kind);
    fprintf(out, "Version: %u.%u\nHeaderLength: %zu (BYTES)\n\n", v >> 8,
            v & 0xff, itl_file_header_length(f));
    fprintf(out, "BYTEPOS TAG LENGTH VALUE\n-------\n");
    for (size_t i = 0; i < itl_file_header_count(f); i++) {
        const itl_elem_t *e = itl_file_header_elem(f, i);
        if (e->tag != ITL_H_VERSION && e->tag != ITL_H_HEADERLENGTH &&
            e->tag != ITL_H_PADDING)
            s_show_value(e, 1, out);
    }
    for (size_t r = 0; r < itl_file_record_count(f); r++) {
        const itl_record_t *rec = itl_file_record(f, r);

        fprintf(out,
                "\n%s Record #:%zu\n----\nBYTEPOS TAG LENGTH VALUE\n"
                "-------\n",
                kind, r + 1);
        for (size_t i = 0; i < rec->nelems; i++)
            s_show_value(&rec->elems[i], 0, out);
        if (rec->function == ITL_ROLE_SAST)
            fprintf(out, "This etoken was %sused to sign the %s file.\n",
                    (int)r == s->signer ? "" : "not ", kind);
    }
    fputc('\n', out);
    if (itl_file_warning(f) != NULL)
        fprintf(out, "Note: %s\n", itl_file_warning(f));
    if (s->verify_rc == ERR_OK)
        fprintf(out, "The %s file was verified successfully.\n", kind);
    else
        fprintf(out, "The %s file could not be verified: %s\n", kind,
                s->verify_detail);
}

static void
s_json_field(FILE *out, const char *key, const itl_elem_t *e, int serial)
{
    char buf[1024];

    if (serial)
        s_colon_hex(e, buf, sizeof(buf));
    else
        s_text(e, buf, sizeof(buf));
    fprintf(out, "\"%s\": ", key);
    if (e == NULL)
        fputs("null", out);
    else
        s_json_str(out, buf);
}

static void
s_json_record(FILE *out, const itl_record_t *r, int signed_it)
{
    char hex[2 * 64 + 1];
    uint8_t d[20];

    fprintf(out, "{\"offset\": %zu, \"length\": %zu, ", r->offset, r->length);
    fprintf(out, "\"function\": ");
    s_json_str(out, itl_role_name(r->function));
    fprintf(out, ", \"function_code\": %d, ", r->function);
    s_json_field(out, "dnsname", r->dnsname, 0);
    fputs(", ", out);
    s_json_field(out, "subject", r->subject, 0);
    fputs(", ", out);
    s_json_field(out, "issuer", r->issuer, 0);
    fputs(", ", out);
    s_json_field(out, "serial", r->serial, 1);
    if (r->ipaddr != NULL && r->ipaddr->len == 4)
        fprintf(out, ", \"ipaddress\": \"%u.%u.%u.%u\"", r->ipaddr->value[0],
                r->ipaddr->value[1], r->ipaddr->value[2], r->ipaddr->value[3]);
    if (r->pubkey != NULL)
        fprintf(out, ", \"public_key_length\": %u", r->pubkey->len);
    if (r->cert != NULL) {
        s_sha1_of(r->cert, d);
        s_plain_hex(d, 20, hex);
        fprintf(out,
                ", \"certificate_length\": %u, "
                "\"certificate_sha1\": \"%s\"",
                r->cert->len, hex);
    }
    if (r->certhash != NULL && r->certhash->len <= 64) {
        s_plain_hex(r->certhash->value, r->certhash->len, hex);
        fprintf(out, ", \"cert_hash\": \"%s\"", hex);
        if (r->hashalg != NULL && r->hashalg->len == 1)
            fprintf(out, ", \"hash_algorithm\": \"%s\"",
                    itl_digest_name(r->hashalg->value[0]));
    }
    fprintf(out, ", \"signed_this_file\": %s}", signed_it ? "true" : "false");
}

static void
s_show_json(const s_show_t *s, FILE *out)
{
    const itl_file_t *f = s->f;
    unsigned v = itl_file_version(f);
    char fname[64];
    size_t len;

    itl_file_bytes(f, &len);
    s_text(itl_file_header_find(f, ITL_H_FILENAME), fname, sizeof(fname));
    fputs("{\"path\": ", out);
    s_json_str(out, s->path);
    fprintf(out, ", \"md5\": \"%s\", \"sha1\": \"%s\", \"length\": %zu, ",
            s->md5, s->sha1, len);
    fprintf(out, "\"modified\": \"%s\", \"filename\": ", s->iso);
    s_json_str(out, fname);
    fprintf(out, ", \"version\": \"%u.%u\", \"header_length\": %zu, ", v >> 8,
            v & 0xff, itl_file_header_length(f));
    fprintf(out, "\"digest\": \"%s\", \"timestamp\": %u, ",
            itl_digest_name(itl_file_digest(f)), itl_file_timestamp(f));
    fprintf(out, "\"signature_valid\": %s, \"verify_error\": ",
            s->verify_rc == ERR_OK ? "true" : "false");
    if (s->verify_rc == ERR_OK)
        fputs("null", out);
    else
        s_json_str(out, s->verify_detail);
    fputs(", \"warning\": ", out);
    if (itl_file_warning(f) == NULL)
        fputs("null", out);
    else
        s_json_str(out, itl_file_warning(f));
    fputs(", \"signer\": {", out);
    s_json_field(out, "name", itl_file_header_find(f, ITL_H_SIGNERNAME), 0);
    fputs(", ", out);
    s_json_field(out, "serial", itl_file_header_find(f, ITL_H_SERIALNUMBER), 1);
    fputs(", ", out);
    s_json_field(out, "issuer", itl_file_header_find(f, ITL_H_CANAME), 0);
    if (s->signer >= 0)
        fprintf(out, ", \"record\": %d}", s->signer);
    else
        fputs(", \"record\": null}", out);
    fputs(", \"records\": [", out);
    for (size_t r = 0; r < itl_file_record_count(f); r++) {
        fputs(r ? ", " : "", out);
        s_json_record(out, itl_file_record(f, r), (int)r == s->signer);
    }
    fputs("]}\n", out);
}

static void
s_file_times(const char *path, char *human, size_t hsize, char *iso,
             size_t isize)
{
    struct stat st;
    struct tm tm;

    snprintf(human, hsize, "unknown");
    snprintf(iso, isize, "unknown");
    if (stat(path, &st) != 0)
        return;
    localtime_r(&st.st_mtime, &tm);
    strftime(human, hsize, "%a %b %d %H:%M:%S %Z %Y", &tm);
    gmtime_r(&st.st_mtime, &tm);
    strftime(iso, isize, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
cmd_show_itl(int argc, char **argv)
{
    s_show_t s = {0};
    s_opts_t o;
    char served[400];
    size_t len;
    const uint8_t *b;
    int rc;

    rc = s_parse_opts("show itl", argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.trust || o.key || o.cert || o.out || o.digest)
        return cmd_usage("show itl");
    if (o.file == NULL) {
        /* No file: the one this node's agent serves. */
        rc = cmd_agent_itl_path(o.socket, o.config, served, sizeof(served));
        if (rc != 0)
            return rc;
        o.file = served;
    }
    if (itl_file_load(o.file, &s.f) != ERR_OK) {
        fprintf(stderr, "itl-admin: %s\n", err_detail());
        return CMD_EXIT_ERROR;
    }
    s.path = o.file;
    b = itl_file_bytes(s.f, &len);
    itl_checksums(b, len, s.md5, s.sha1);
    s_file_times(o.file, s.modified, sizeof(s.modified), s.iso, sizeof(s.iso));
    s.signer = itl_file_signer_index(s.f);
    s.verify_rc = itl_file_verify_self(s.f);
    if (s.verify_rc != ERR_OK)
        snprintf(s.verify_detail, sizeof(s.verify_detail), "%s", err_detail());
    if (o.json)
        s_show_json(&s, stdout);
    else
        s_show_text(&s, stdout);
    itl_file_destroy(&s.f);
    return s.verify_rc == ERR_OK ? CMD_EXIT_OK : CMD_EXIT_NO;
}

/* ---- verify itl ---- */

static int
s_same(const itl_elem_t *a, const itl_elem_t *b)
{
    return a != NULL && b != NULL && a->len == b->len &&
           memcmp(a->value, b->value, a->len) == 0;
}

/* The answer of verify itl as one JSON object on stdout. */
static void
s_verify_json(const char *npath, const char *hpath, const char *name,
              const char *serial, size_t record, const char *reason)
{
    printf("{\"file\":");
    s_json_str(stdout, npath);
    printf(",\"trust\":");
    s_json_str(stdout, hpath);
    printf(",\"accepted\":%s,\"signer\":", record ? "true" : "false");
    s_json_str(stdout, name);
    printf(",\"serial\":");
    s_json_str(stdout, serial);
    if (record)
        printf(",\"sast_record\":%zu}\n", record);
    else {
        printf(",\"reason\":");
        s_json_str(stdout, reason);
        printf("}\n");
    }
}

/*
 * Tries every SAST record of held that names new's signer; returns 0 when
 * one verifies it, else 1 with the reason printed (as JSON with json).
 */
static int
s_verify_against(const itl_file_t *nf, const char *npath,
                 const itl_file_t *held, const char *hpath, int json)
{
    const itl_elem_t *sname = itl_file_header_find(nf, ITL_H_SIGNERNAME);
    const itl_elem_t *sserial = itl_file_header_find(nf, ITL_H_SERIALNUMBER);
    char name[512], serial[512], reason[2048] = "";
    size_t record = 0;
    int tried = 0;

    s_text(sname, name, sizeof(name));
    s_colon_hex(sserial, serial, sizeof(serial));
    for (size_t i = 0; i < itl_file_record_count(held) && !record; i++) {
        const itl_record_t *r = itl_file_record(held, i);
        X509 *x = NULL;
        int rc;

        if (r->function != ITL_ROLE_SAST || r->cert == NULL ||
            !s_same(r->serial, sserial) || !s_same(r->subject, sname))
            continue;
        tried++;
        if (itl_record_x509(r, &x) != ERR_OK) {
            snprintf(reason, sizeof(reason), "record #%zu of %s: %s", i + 1,
                     hpath, err_detail());
            if (!json)
                printf("%s\n", reason);
            continue;
        }
        rc = itl_file_verify(nf, X509_get0_pubkey(x));
        X509_free(x);
        if (rc == ERR_OK) {
            record = i + 1;
            break;
        }
        snprintf(reason, sizeof(reason),
                 "%s is refused: its signature does not verify with SAST "
                 "record #%zu of %s (%s serial %s): %s",
                 npath, i + 1, hpath, name, serial, err_detail());
        if (!json)
            printf("%s\n", reason);
    }
    if (tried == 0) {
        snprintf(reason, sizeof(reason),
                 "%s is refused: signer %s serial %s is not a SAST record of "
                 "%s that carries a certificate",
                 npath, name, serial, hpath);
        if (!json)
            printf("%s\n", reason);
    }
    if (json)
        s_verify_json(npath, hpath, name, serial, record, reason);
    else if (record)
        printf("A phone holding %s accepts %s: signed by %s serial %s, "
               "SAST record #%zu of %s.\n",
               hpath, npath, name, serial, record, hpath);
    return record ? CMD_EXIT_OK : CMD_EXIT_NO;
}

int
cmd_verify_itl(int argc, char **argv)
{
    itl_file_t *nf = NULL, *held = NULL;
    s_opts_t o;
    int rc;

    rc = s_parse_opts("verify itl", argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.file == NULL || o.trust == NULL || o.key || o.cert || o.out ||
        o.digest)
        return cmd_usage("verify itl");
    if (itl_file_load(o.file, &nf) != ERR_OK ||
        itl_file_load(o.trust, &held) != ERR_OK) {
        fprintf(stderr, "itl-admin: %s\n", err_detail());
        rc = CMD_EXIT_ERROR;
        goto out;
    }
    rc = s_verify_against(nf, o.file, held, o.trust, o.json);
out:
    itl_file_destroy(&nf);
    itl_file_destroy(&held);
    return rc;
}

/* ---- resign itl ---- */

static int
s_no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/*
 * Loads a PEM private key, which must be private to its owner. A file that
 * holds no private key (a certificate given by mistake) is named as such
 * before its mode is looked at.
 */
static int
s_load_key(const char *path, EVP_PKEY **key)
{
    X509 *cert = NULL;
    FILE *fp;
    int rc;

    fp = fopen(path, "r");
    if (fp == NULL)
        return err_set(ERR_NOTFOUND, "cannot open %s: %s", path,
                       strerror(errno));
    *key = PEM_read_PrivateKey(fp, NULL, s_no_password, NULL);
    if (*key == NULL) {
        rewind(fp);
        cert = PEM_read_X509(fp, NULL, NULL, NULL);
    }
    fclose(fp);
    if (*key == NULL && cert != NULL) {
        X509_free(cert);
        ERR_clear_error();
        return err_set(ERR_FORMAT,
                       "%s is a certificate, not a private key; give the "
                       "key file with --key and the certificate with --cert",
                       path);
    }
    if (*key == NULL)
        return err_set_ssl(ERR_FORMAT,
                           "%s: no unencrypted PEM private key in it", path);
    rc = fs_check_private(path);
    if (rc != ERR_OK) {
        EVP_PKEY_free(*key);
        *key = NULL;
    }
    return rc;
}

/* ERR_EXISTS when out is the same file as in, unless force. */
static int
s_check_out(const char *in, const char *out, int force)
{
    struct stat a, b;

    if (force || stat(in, &a) != 0 || stat(out, &b) != 0)
        return ERR_OK;
    if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return ERR_OK;
    return err_set(ERR_EXISTS,
                   "--out %s is the input file %s; give another --out, or "
                   "add --force to replace the input",
                   out, in);
}

/*
 * Phones that install the output trust only its SAST records (the input's
 * records, kept as they are): a signer none of them carries cannot sign a
 * later file those phones accept. Returns 1 when a SAST record carries
 * exactly cert.
 */
static int
s_sast_carries(const itl_file_t *f, X509 *cert)
{
    uint8_t *der = NULL;
    int len = i2d_X509(cert, &der), found = 0;

    for (size_t i = 0; len > 0 && !found && i < itl_file_record_count(f); i++) {
        const itl_record_t *r = itl_file_record(f, i);
        found = r->function == ITL_ROLE_SAST && r->cert != NULL &&
                r->cert->len == (uint16_t)len &&
                memcmp(r->cert->value, der, (size_t)len) == 0;
    }
    OPENSSL_free(der);
    return found;
}

static int
s_load_cert(const char *path, X509 **cert)
{
    FILE *fp = fopen(path, "r");

    if (fp == NULL)
        return err_set(ERR_NOTFOUND, "cannot open %s", path);
    *cert = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    if (*cert == NULL)
        return err_set_ssl(ERR_FORMAT, "%s: no PEM certificate in it", path);
    return ERR_OK;
}

int
cmd_resign_itl(int argc, char **argv)
{
    itl_file_t *in = NULL, *out = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    char md5[33], sha1[41];
    const uint8_t *b;
    size_t len;
    s_opts_t o;
    int rc, digest;

    rc = s_parse_opts("resign itl", argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.file == NULL || o.key == NULL || o.cert == NULL || o.out == NULL ||
        o.json || o.trust)
        return cmd_usage("resign itl");
    rc = CMD_EXIT_ERROR;
    if (s_check_out(o.file, o.out, o.force) != ERR_OK ||
        itl_file_load(o.file, &in) != ERR_OK ||
        s_load_key(o.key, &key) != ERR_OK ||
        s_load_cert(o.cert, &cert) != ERR_OK)
        goto fail;
    digest =
        o.digest != NULL ? itl_digest_parse(o.digest) : itl_file_digest(in);
    if (itl_digest_md(digest) == NULL) {
        err_set(ERR_ARG, "unknown digest \"%s\" (sha1, sha256 or sha512)",
                o.digest != NULL ? o.digest : "of the input file");
        goto fail;
    }
    if (itl_file_resign(in, key, cert, digest, (uint32_t)time(NULL), &out) !=
        ERR_OK) {
        char detail[512];

        snprintf(detail, sizeof(detail), "%s", err_detail());
        err_set(ERR_ARG, "cannot re-sign %s with %s and %s: %s", o.file, o.key,
                o.cert, detail);
        goto fail;
    }
    b = itl_file_bytes(out, &len);
    if (fs_write_durable(o.out, b, len, 0644, 0) != ERR_OK)
        goto fail;
    itl_checksums(b, len, md5, sha1);
    printf("Re-signed %s as %s (%s)\n", o.file, o.out, itl_digest_name(digest));
    if (!s_sast_carries(in, cert))
        fprintf(stderr,
                "itl-admin: warning: no SAST record of %s carries the "
                "certificate %s, so phones that install %s cannot verify a "
                "later file signed with it\n",
                o.file, o.cert, o.out);
    printf("HeaderLength: %zu (BYTES)\nLength: %zu\nSHA1: %s\n",
           itl_file_header_length(out), len, sha1);
    rc = CMD_EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "itl-admin: %s\n", err_detail());
out:
    itl_file_destroy(&in);
    itl_file_destroy(&out);
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

/* ---- build itl ---- */

static int
s_role_parse(const char *name)
{
    static const struct {
        const char *name;
        int role;
    } roles[] = {{"sast", ITL_ROLE_SAST},
                 {"ccm", ITL_ROLE_CCM},
                 {"ccm+tftp", ITL_ROLE_CCM_TFTP},
                 {"tftp", ITL_ROLE_TFTP},
                 {"capf", ITL_ROLE_CAPF},
                 {"app-server", ITL_ROLE_APP_SERVER},
                 {"tvs", ITL_ROLE_TVS}};

    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (strcmp(roles[i].name, name) == 0)
            return roles[i].role;
    }
    return -1;
}

/* Parses "ROLE=PATH[,hash]" into e (loading the certificate). */
static int
s_record_arg(char *arg, itl_entry_t *e)
{
    char *eq = strchr(arg, '='), *comma;

    memset(e, 0, sizeof(*e));
    if (eq == NULL)
        return err_set(ERR_ARG, "--record %s: expected ROLE=CERT.pem", arg);
    *eq = '\0';
    comma = strrchr(eq + 1, ',');
    if (comma != NULL && strcmp(comma, ",hash") == 0) {
        *comma = '\0';
        e->hash_only = 1;
    }
    e->function = s_role_parse(arg);
    if (e->function < 0)
        return err_set(ERR_ARG, "--record: unknown role \"%s\"", arg);
    return s_load_cert(eq + 1, &e->cert);
}

int
cmd_build_itl(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},
        {"cert", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"record", required_argument, NULL, 'r'},
        {"digest", required_argument, NULL, 'd'},
        {"filename", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0}};
    const char *keyp = NULL, *certp = NULL, *outp = NULL, *dig = "sha1";
    const char *fname = "ITLFile.tlv";
    itl_entry_t ents[64];
    size_t n = 0;
    itl_file_t *f = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    char md5[33], sha1[41];
    const uint8_t *b;
    size_t len;
    int c, rc = CMD_EXIT_ERROR;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'k')
            keyp = optarg;
        else if (c == 'c')
            certp = optarg;
        else if (c == 'o')
            outp = optarg;
        else if (c == 'd')
            dig = optarg;
        else if (c == 'n')
            fname = optarg;
        else if (c == 'r' && n < sizeof(ents) / sizeof(ents[0])) {
            if (s_record_arg(optarg, &ents[n]) != ERR_OK) {
                X509_free(ents[n].cert);
                goto fail;
            }
            n++;
        } else {
            rc = cmd_usage("build itl");
            goto out;
        }
    }
    if (keyp == NULL || certp == NULL || outp == NULL || n == 0 ||
        optind < argc) {
        rc = cmd_usage("build itl");
        goto out;
    }
    if (itl_digest_parse(dig) < 0) {
        err_set(ERR_ARG, "unknown digest \"%s\" (sha1, sha256 or sha512)", dig);
        goto fail;
    }
    if (s_load_key(keyp, &key) != ERR_OK || s_load_cert(certp, &cert) != 0 ||
        itl_file_build(ents, n, key, cert, itl_digest_parse(dig), fname,
                       (uint32_t)time(NULL), &f) != ERR_OK)
        goto fail;
    b = itl_file_bytes(f, &len);
    if (fs_write_durable(outp, b, len, 0644, 0) != ERR_OK)
        goto fail;
    itl_checksums(b, len, md5, sha1);
    printf("Built %s: %zu records\nHeaderLength: %zu (BYTES)\nLength: %zu\n"
           "SHA1: %s\n",
           outp, n, itl_file_header_length(f), len, sha1);
    rc = CMD_EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "itl-admin: build itl: %s\n", err_detail());
out:
    for (size_t i = 0; i < n; i++)
        X509_free(ents[i].cert);
    itl_file_destroy(&f);
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

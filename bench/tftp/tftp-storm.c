/*
 * tftp-storm: a single-process TFTP boot-storm client for benchmarks.
 *
 * It starts N read requests at once, each from its own UDP socket (its own transfer ID), and drives them all
 * from one epoll loop: RFC 1350 lock-step DATA/ACK, RFC 2347 option negotiation (OACK, ACK 0), RFC 2348
 * blksize, RFC 2349 tsize, RFC 7440 windowsize. Every block is compared byte for byte with a local copy of
 * the file, so a transfer counts as done only when the whole file arrived intact. Lost packets are recovered
 * by retransmitting the last request or ACK after a timeout (bounded retries); a packet from a foreign
 * transfer ID gets ERROR 5, as RFC 1350 section 4 asks. The run is bounded in clients and in time.
 *
 * One process instead of one client process per transfer: the client side of a storm then costs a few
 * system calls per block, so the wall time measures the server rather than the clients' start-up and
 * scheduling. The client's own CPU use is printed so that a reader can check it was not the bottleneck.
 *
 *   gcc -O2 -Wall -Wextra -o tftp-storm tftp-storm.c
 *   tftp-storm -s 10.0.0.1 -p 69 -f 1m.bin -l /srv/tftp/1m.bin -n 200 -b 1468 [-w 4] [-t]
 *
 * Options:
 *   -s ADDR     server address (IPv4 or IPv6, numeric)
 *   -p PORT     server port (default 69)
 *   -f NAME     file name to request
 *   -l PATH     local copy of the file: every block is compared with it
 *   -n N        concurrent transfers, 1..20000 (default 200)
 *   -b SIZE     blksize option, 8..65464; 0 = no blksize option, plain 512-byte blocks (default 1468)
 *   -w SIZE     windowsize option, 1..64; 1 = no windowsize option, lock-step (default 1)
 *   -t          ask tsize=0 and check the size the server announces
 *   -T MS       retransmission timeout in milliseconds (default 1000, the usual firmware and tftpd-hpa value)
 *   -r N        retransmissions of one packet before a transfer fails (default 5)
 *   -D SEC      deadline for the whole storm in seconds, 1..600 (default 120); unfinished transfers fail
 *
 * Output: one line of key=value pairs on stdout (clients, ok, failures, wall_s, p50_ms, p90_ms, p99_ms, max_ms,
 * retransmits, dup_data, client_cpu_pct), then the first failures, if any, on stderr. Exit status 0 when every
 * transfer succeeded, 1 when some failed, 2 on bad arguments or a setup error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { OP_RRQ = 1, OP_DATA = 3, OP_ACK = 4, OP_ERROR = 5, OP_OACK = 6 };
enum { WAIT_FIRST, RUNNING, DONE, FAILED };
enum { MAX_CLIENTS = 20000, MAX_PACKET = 65468, MAX_FAILURE_LINES = 10 };

struct transfer {
    int fd;
    int state;
    uint16_t tid_port;        /* server's transfer port (network order), 0 until the first reply */
    int block_size;           /* negotiated */
    int window;               /* negotiated */
    uint64_t expected;        /* absolute number of the next block wanted */
    int in_window;            /* in-order blocks since the last ACK */
    int nak_sent;             /* an ACK for a gap or duplicate was sent since the last progress */
    int retries;
    int acked;                /* an ACK was sent while handling the current readiness event */
    uint16_t last_ack;        /* wire number of the last ACK sent (retransmitted on timeout) */
    int64_t start_ns, end_ns, deadline_ns;
};

static struct {
    struct sockaddr_storage server;
    socklen_t server_len;
    const char *file;
    const unsigned char *ref;
    size_t ref_len;
    int clients, block_size, window, tsize, timeout_ms, retry_limit, deadline_s;
    unsigned char rrq[600];
    size_t rrq_len;
    long retransmits, dup_data, foreign;
    int failure_lines;
} g = { .block_size = 1468, .window = 1, .clients = 200, .timeout_ms = 1000, .retry_limit = 5, .deadline_s = 120 };

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "tftp-storm: %s\n", what);
    exit(2);
}

static long parse_int(const char *text, const char *name, long min, long max)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || end == text || value < min || value > max) {
        fprintf(stderr, "tftp-storm: %s must be an integer from %ld to %ld, got '%s'\n", name, min, max, text);
        exit(2);
    }
    return value;
}

static int same_host(const struct sockaddr_storage *from)
{
    if (from->ss_family != g.server.ss_family)
        return 0;
    if (from->ss_family == AF_INET)
        return ((const struct sockaddr_in *)from)->sin_addr.s_addr == ((const struct sockaddr_in *)&g.server)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)from)->sin6_addr, &((const struct sockaddr_in6 *)&g.server)->sin6_addr, 16) == 0;
}

static uint16_t port_of(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET ? ((const struct sockaddr_in *)a)->sin_port : ((const struct sockaddr_in6 *)a)->sin6_port;
}

static void send_to_tid(struct transfer *t, const void *packet, size_t length)
{
    struct sockaddr_storage to = g.server;
    if (to.ss_family == AF_INET)
        ((struct sockaddr_in *)&to)->sin_port = t->tid_port;
    else
        ((struct sockaddr_in6 *)&to)->sin6_port = t->tid_port;
    /* A failed send is a lost packet: the timeout resends it. */
    (void)sendto(t->fd, packet, length, 0, (struct sockaddr *)&to, g.server_len);
}

static void send_ack(struct transfer *t, uint16_t block)
{
    unsigned char ack[4] = { 0, OP_ACK, (unsigned char)(block >> 8), (unsigned char)block };
    t->last_ack = block;
    t->acked = 1;
    send_to_tid(t, ack, sizeof ack);
}

/* ERROR packet (RFC 1350 section 5): opcode 5, code, message, NUL. */
static size_t build_error(unsigned char *packet, int code, const char *message)
{
    size_t length = strlen(message);
    packet[0] = 0;
    packet[1] = OP_ERROR;
    packet[2] = 0;
    packet[3] = (unsigned char)code;
    memcpy(packet + 4, message, length + 1);
    return 4 + length + 1;
}

static void send_error(int fd, const struct sockaddr_storage *to, socklen_t to_len, int code, const char *message)
{
    unsigned char packet[128];
    (void)sendto(fd, packet, build_error(packet, code, message), 0, (const struct sockaddr *)to, to_len);
}

/* Ends a transfer as failed. notify: an ERROR code to send to the server's TID (when known), or -1 for none
 * (the server ended it, or an ERROR was sent already). */
static void fail(struct transfer *t, int index, int64_t now, int notify, const char *why, long detail)
{
    if (notify >= 0 && t->tid_port != 0) {
        unsigned char packet[128];
        send_to_tid(t, packet, build_error(packet, notify, "Transfer abandoned by the client"));
    }
    if (g.failure_lines < MAX_FAILURE_LINES)
        fprintf(stderr, "transfer %d failed after block %llu: %s (%ld)\n", index, (unsigned long long)(t->expected - 1), why, detail);
    g.failure_lines++;
    t->state = FAILED;
    t->end_ns = now;
    close(t->fd);
    t->fd = -1;
}

/* OACK: accept only options we asked for, with values no larger than asked (RFC 2347 section 5). */
static int on_oack(struct transfer *t, const unsigned char *body, size_t length, int index, int64_t now)
{
    int block_size = 512, window = 1;
    size_t i = 0;
    while (i < length) {
        const char *name = (const char *)body + i;
        size_t name_len = strnlen(name, length - i);
        if (i + name_len >= length) {
            fail(t, index, now, 8, "OACK option name without terminator", 0);
            return -1;
        }
        i += name_len + 1;
        const char *value = (const char *)body + i;
        size_t value_len = strnlen(value, length - i);
        if (i + value_len >= length) {
            fail(t, index, now, 8, "OACK option value without terminator", 0);
            return -1;
        }
        i += value_len + 1;
        char *end;
        long number = strtol(value, &end, 10);
        if (*end != '\0' || end == value) {
            fail(t, index, now, 8, "OACK option value is not a number", 0);
            return -1;
        }
        if (strcasecmp(name, "blksize") == 0 && g.block_size > 0 && number >= 8 && number <= g.block_size)
            block_size = (int)number;
        else if (strcasecmp(name, "windowsize") == 0 && g.window > 1 && number >= 1 && number <= g.window)
            window = (int)number;
        else if (strcasecmp(name, "tsize") == 0 && g.tsize) {
            if ((size_t)number != g.ref_len) {
                fail(t, index, now, 8, "OACK tsize differs from the file's size", number);
                return -1;
            }
        } else {
            fail(t, index, now, 8, "OACK carries an option not asked for or out of range", number);
            return -1;
        }
    }
    t->block_size = block_size;
    t->window = window;
    return 0;
}

static void on_data(struct transfer *t, const unsigned char *packet, size_t length, int index, int64_t now)
{
    uint16_t wire = (uint16_t)((packet[2] << 8) | packet[3]);
    size_t payload = length - 4;
    uint16_t expected = (uint16_t)t->expected;
    if (wire != expected) {
        /* Behind: a retransmission (our ACK was lost or late); ahead: a gap in a window. Either way ACK the
         * last block received in order, once until progress, so the server resends from there. */
        if ((uint16_t)(expected - wire) <= 0x8000)
            g.dup_data++;
        if (!t->nak_sent || t->window == 1) {
            t->nak_sent = 1;
            t->in_window = 0;
            send_ack(t, (uint16_t)(t->expected - 1));
        }
        return;
    }
    size_t offset = (size_t)(t->expected - 1) * (size_t)t->block_size;
    if (payload > (size_t)t->block_size) {
        fail(t, index, now, 0, "DATA larger than blksize", (long)payload);
        return;
    }
    if (offset + payload > g.ref_len) {
        fail(t, index, now, 0, "DATA beyond the end of the file", (long)(offset + payload));
        return;
    }
    if (memcmp(packet + 4, g.ref + offset, payload) != 0) {
        fail(t, index, now, 0, "DATA differs from the file at block", (long)t->expected);
        return;
    }
    t->expected++;
    t->retries = 0;
    t->nak_sent = 0;
    t->deadline_ns = now + (int64_t)g.timeout_ms * 1000000;
    if (payload < (size_t)t->block_size) {
        if (offset + payload != g.ref_len) {
            fail(t, index, now, 0, "file ended early at byte", (long)(offset + payload));
            return;
        }
        send_ack(t, wire);
        t->state = DONE;
        t->end_ns = now;
        close(t->fd);
        t->fd = -1;
        return;
    }
    if (++t->in_window >= t->window) {
        t->in_window = 0;
        send_ack(t, wire);
    }
}

static void on_datagram(struct transfer *t, int index, const unsigned char *packet, size_t length,
                        const struct sockaddr_storage *from, socklen_t from_len, int64_t now)
{
    if (!same_host(from))
        return;
    uint16_t port = port_of(from);
    if (t->tid_port != 0 && port != t->tid_port) {
        g.foreign++;
        send_error(t->fd, from, from_len, 5, "Unknown transfer ID");
        return;
    }
    if (length < 4)
        return;
    int opcode = (packet[0] << 8) | packet[1];
    if (opcode == OP_ERROR) {
        char message[64];
        snprintf(message, sizeof message, "ERROR %d from the server: %.*s", (packet[2] << 8) | packet[3],
                 (int)(length > 40 ? 36 : length - 4), (const char *)packet + 4);
        fail(t, index, now, -1, message, 0);
        return;
    }
    if (t->state == WAIT_FIRST) {
        t->tid_port = port;
        t->state = RUNNING;
        if (opcode == OP_OACK) {
            if (on_oack(t, packet + 2, length - 2, index, now) != 0)
                return;
            t->retries = 0;
            t->deadline_ns = now + (int64_t)g.timeout_ms * 1000000;
            send_ack(t, 0);
            return;
        }
        /* No OACK: the server ignored the options (RFC 2347 section 2): plain 512-byte lock-step. */
        t->block_size = 512;
        t->window = 1;
    }
    if (opcode == OP_OACK) {
        /* A repeated OACK: our ACK 0 was lost. */
        if (t->expected == 1)
            send_ack(t, 0);
        return;
    }
    if (opcode == OP_DATA)
        on_data(t, packet, length, index, now);
}

static size_t build_rrq(void)
{
    char text[600];
    if (strlen(g.file) > 400)
        die("-f: the file name is too long for a 512-byte request (RFC 2347 section 2)");
    size_t n = (size_t)snprintf(text, sizeof text, "%s%c%s%c", g.file, 0, "octet", 0);
    if (g.block_size > 0)
        n += (size_t)snprintf(text + n, sizeof text - n, "blksize%c%d%c", 0, g.block_size, 0);
    if (g.window > 1)
        n += (size_t)snprintf(text + n, sizeof text - n, "windowsize%c%d%c", 0, g.window, 0);
    if (g.tsize)
        n += (size_t)snprintf(text + n, sizeof text - n, "tsize%c0%c", 0, 0);
    if (n + 2 > 512)
        die("-f: the request is longer than 512 bytes (RFC 2347 section 2): use a shorter file name");
    g.rrq[0] = 0;
    g.rrq[1] = OP_RRQ;
    memcpy(g.rrq + 2, text, n);
    return n + 2;
}

static int compare_ns(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double percentile_ms(const int64_t *sorted, int count, double p)
{
    if (count == 0)
        return 0;
    int rank = (int)((p / 100.0) * count + 0.999999) - 1; /* nearest rank */
    if (rank < 0)
        rank = 0;
    if (rank >= count)
        rank = count - 1;
    return sorted[rank] / 1e6;
}

static void usage(void)
{
    fprintf(stderr, "usage: tftp-storm -s ADDR [-p PORT] -f NAME -l LOCAL_COPY [-n CLIENTS] [-b BLKSIZE] [-w WINDOWSIZE] [-t]\n"
                    "                  [-T TIMEOUT_MS] [-r RETRIES] [-D DEADLINE_S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *address = NULL, *local = NULL;
    int port = 69, option;
    while ((option = getopt(argc, argv, "s:p:f:l:n:b:w:tT:r:D:")) != -1) {
        switch (option) {
        case 's': address = optarg; break;
        case 'p': port = (int)parse_int(optarg, "-p (port)", 1, 65535); break;
        case 'f': g.file = optarg; break;
        case 'l': local = optarg; break;
        case 'n': g.clients = (int)parse_int(optarg, "-n (clients)", 1, MAX_CLIENTS); break;
        case 'b': g.block_size = (int)parse_int(optarg, "-b (blksize; 0 = none)", 0, 65464); break;
        case 'w': g.window = (int)parse_int(optarg, "-w (windowsize)", 1, 64); break;
        case 't': g.tsize = 1; break;
        case 'T': g.timeout_ms = (int)parse_int(optarg, "-T (timeout ms)", 10, 60000); break;
        case 'r': g.retry_limit = (int)parse_int(optarg, "-r (retries)", 0, 100); break;
        case 'D': g.deadline_s = (int)parse_int(optarg, "-D (deadline s)", 1, 600); break;
        default: usage();
        }
    }
    if (!address || !g.file || !local || optind != argc)
        usage();
    if (g.block_size > 0 && g.block_size < 8)
        die("-b (blksize) must be 0 (no option) or 8..65464 (RFC 2348)");

    memset(&g.server, 0, sizeof g.server);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&g.server;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&g.server;
    if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        g.server_len = sizeof *v4;
    } else if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        g.server_len = sizeof *v6;
    } else {
        die("-s must be a numeric IPv4 or IPv6 address");
    }

    int ref_fd = open(local, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (ref_fd < 0 || fstat(ref_fd, &st) != 0) {
        fprintf(stderr, "tftp-storm: cannot open the local copy %s: %s\n", local, strerror(errno));
        return 2;
    }
    g.ref_len = (size_t)st.st_size;
    g.ref = g.ref_len ? mmap(NULL, g.ref_len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, ref_fd, 0) : (const unsigned char *)"";
    if (g.ref == MAP_FAILED)
        die("cannot map the local copy");
    close(ref_fd);
    g.rrq_len = build_rrq();

    /* One socket per transfer: raise the descriptor limit to what the storm needs. */
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < (rlim_t)g.clients + 16) {
        files.rlim_cur = (rlim_t)g.clients + 16 > files.rlim_max ? files.rlim_max : (rlim_t)g.clients + 16;
        setrlimit(RLIMIT_NOFILE, &files);
    }

    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct transfer *transfers = calloc((size_t)g.clients, sizeof *transfers);
    if (epoll < 0 || !transfers)
        die("cannot create the epoll set");
    for (int i = 0; i < g.clients; i++) {
        struct transfer *t = &transfers[i];
        t->fd = socket(g.server.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (t->fd < 0) {
            fprintf(stderr, "tftp-storm: socket %d: %s (raise the open-files limit)\n", i, strerror(errno));
            return 2;
        }
        int buffer = 1 << 20; /* room for a full window of any allowed size */
        setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        if (epoll_ctl(epoll, EPOLL_CTL_ADD, t->fd, &ev) != 0)
            die("epoll_ctl failed");
        t->state = WAIT_FIRST;
        t->block_size = g.block_size > 0 ? g.block_size : 512;
        t->window = 1;
        t->expected = 1;
    }

    struct rusage usage_start, usage_end;
    getrusage(RUSAGE_SELF, &usage_start);
    int64_t start = now_ns();
    int64_t deadline = start + (int64_t)g.deadline_s * 1000000000;
    for (int i = 0; i < g.clients; i++) {
        struct transfer *t = &transfers[i];
        t->start_ns = now_ns();
        t->deadline_ns = t->start_ns + (int64_t)g.timeout_ms * 1000000;
        (void)sendto(t->fd, g.rrq, g.rrq_len, 0, (struct sockaddr *)&g.server, g.server_len);
    }

    static unsigned char packet[MAX_PACKET + 1];
    struct epoll_event events[256];
    int active = g.clients;
    int64_t next_scan = start;
    while (active > 0) {
        int count = epoll_wait(epoll, events, 256, 5);
        int64_t now = now_ns();
        for (int e = 0; e < count; e++) {
            int index = (int)events[e].data.u32;
            struct transfer *t = &transfers[index];
            if (t->fd < 0)
                continue;
            /* Drain what is queued (a window arrives as a burst) until this pass sends an ACK: nothing more can
             * come before the server sees it, so another recvfrom would only return EAGAIN. Anything left
             * is reported again by the level-triggered epoll. */
            t->acked = 0;
            for (int n = 0; n < 64 && t->fd >= 0 && !t->acked; n++) {
                struct sockaddr_storage from;
                socklen_t from_len = sizeof from;
                ssize_t length = recvfrom(t->fd, packet, sizeof packet, 0, (struct sockaddr *)&from, &from_len);
                if (length < 0)
                    break;
                on_datagram(t, index, packet, (size_t)length, &from, from_len, now);
            }
            if (t->fd < 0)
                active--;
        }
        if (now < next_scan)
            continue;
        next_scan = now + 5000000;
        for (int i = 0; i < g.clients; i++) {
            struct transfer *t = &transfers[i];
            if (t->state == DONE || t->state == FAILED)
                continue;
            if (now >= deadline) {
                fail(t, i, now, 0, "storm deadline passed (-D)", g.deadline_s);
                active--;
            } else if (now >= t->deadline_ns) {
                if (t->retries >= g.retry_limit) {
                    fail(t, i, now, 0, "no answer after retries (-r)", t->retries);
                    active--;
                    continue;
                }
                t->retries++;
                g.retransmits++;
                t->deadline_ns = now + (int64_t)g.timeout_ms * 1000000;
                if (t->state == WAIT_FIRST)
                    (void)sendto(t->fd, g.rrq, g.rrq_len, 0, (struct sockaddr *)&g.server, g.server_len);
                else
                    send_ack(t, t->last_ack);
            }
        }
    }
    getrusage(RUSAGE_SELF, &usage_end);

    int64_t end = start, *latencies = malloc(sizeof(int64_t) * (size_t)g.clients);
    int ok = 0;
    for (int i = 0; i < g.clients; i++) {
        if (transfers[i].end_ns > end)
            end = transfers[i].end_ns;
        if (transfers[i].state == DONE)
            latencies[ok++] = transfers[i].end_ns - transfers[i].start_ns;
    }
    qsort(latencies, (size_t)ok, sizeof *latencies, compare_ns);
    double wall = (end - start) / 1e9;
    double cpu = (usage_end.ru_utime.tv_sec - usage_start.ru_utime.tv_sec) + (usage_end.ru_utime.tv_usec - usage_start.ru_utime.tv_usec) / 1e6
               + (usage_end.ru_stime.tv_sec - usage_start.ru_stime.tv_sec) + (usage_end.ru_stime.tv_usec - usage_start.ru_stime.tv_usec) / 1e6;
    printf("clients=%d ok=%d failures=%d wall_s=%.3f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f retransmits=%ld dup_data=%ld foreign=%ld client_cpu_pct=%.0f\n",
           g.clients, ok, g.clients - ok, wall, percentile_ms(latencies, ok, 50), percentile_ms(latencies, ok, 90),
           percentile_ms(latencies, ok, 99), ok ? latencies[ok - 1] / 1e6 : 0.0, g.retransmits, g.dup_data, g.foreign,
           wall > 0 ? 100.0 * cpu / wall : 0.0);
    if (g.failure_lines > MAX_FAILURE_LINES)
        fprintf(stderr, "... %d failures in all\n", g.clients - ok);
    free(latencies);
    free(transfers);
    return ok == g.clients ? 0 : 1;
}

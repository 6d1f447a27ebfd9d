// ipcfloor — the C floor for Weft's IPC rows: what two processes pay, with nothing but the kernel between them, for
// a 64-byte round trip over a pipe, a Unix socket, a POSIX message queue and TCP loopback, and for a one-way stream
// of 64-byte messages over a Unix socket and over a pipe; and, for the shared-memory channel, a Vyukov MPMC ring in a shared mapping
// with futex waits (a waiters count, so an uncontended write makes no system call), its spinning variant, and a
// one-way throughput row; plus an uncontended sem_wait/sem_post pair for the named semaphore.
//
// Each mechanism forks one child. The parent writes 64 bytes and waits for the child's 64-byte echo, ROUNDS times
// after a warm-up, and prints the mean per round trip. Blocking calls throughout: this is the cheapest way a
// process can wait for another, so it is the floor that a runtime (Weft, Go, .NET) adds its scheduling to.
//
// Output: one line per row in bench/Weft.Bench's format, "NAME.c VALUE UNIT", e.g. "ipc-pipe.c 18234.5 ns/roundtrip".
// Usage: ipcfloor [ROUNDS] [ROW...]   (rows: ipc-pipe ipc-unix ipc-mq ipc-tcp ipc-unix-throughput ipc-pipe-throughput
//        ipc-shm ipc-shm-spin ipc-shm-throughput ipc-sem ipc-sem-async; default all)

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define WARMUP 1000

static long rounds = 20000;

static void die(const char *what)
{
    fprintf(stderr, "ipcfloor: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

// Reads or writes exactly n bytes of a stream (a pipe or a socket may split a message).
static void full_read(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n)
    {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) die("read");
        got += (size_t)r;
    }
}

static void full_write(int fd, const char *buf, size_t n)
{
    size_t put = 0;
    while (put < n)
    {
        ssize_t w = write(fd, buf + put, n - put);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) die("write");
        put += (size_t)w;
    }
}

static void reap(pid_t child)
{
    int status;
    if (waitpid(child, &status, 0) < 0) die("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    {
        fprintf(stderr, "ipcfloor: the child failed\n");
        exit(1);
    }
}

// The parent's side of a stream round trip: returns ns per round trip.
static double ping_stream(int out, int in)
{
    char buf[MSG];
    memset(buf, 'p', MSG);
    double start = 0;
    for (long i = 0; i < WARMUP + rounds; i++)
    {
        if (i == WARMUP) start = now_ns();
        full_write(out, buf, MSG);
        full_read(in, buf, MSG);
    }
    return (now_ns() - start) / rounds;
}

static void echo_stream(int in, int out)
{
    char buf[MSG];
    for (long i = 0; i < WARMUP + rounds; i++)
    {
        full_read(in, buf, MSG);
        full_write(out, buf, MSG);
    }
}

static void row_pipe(void)
{
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0) die("pipe2");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0)
    {
        close(down[1]);
        close(up[0]);
        echo_stream(down[0], up[1]);
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    double ns = ping_stream(down[1], up[0]);
    reap(child);
    printf("ipc-pipe.c %.1f ns/roundtrip\n", ns);
}

static void row_unix(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0)
    {
        close(sv[0]);
        echo_stream(sv[1], sv[1]);
        _exit(0);
    }
    close(sv[1]);
    double ns = ping_stream(sv[0], sv[0]);
    reap(child);
    printf("ipc-unix.c %.1f ns/roundtrip\n", ns);
}

static void row_tcp(void)
{
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0) die("socket");
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(listener, 1) < 0) die("listen");
    if (getsockname(listener, (struct sockaddr *)&addr, &len) < 0) die("getsockname");
    int one = 1;
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0)
    {
        close(listener);
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) die("socket");
        if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        echo_stream(s, s);
        _exit(0);
    }
    int s = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0) die("accept4");
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    double ns = ping_stream(s, s);
    reap(child);
    close(s);
    close(listener);
    printf("ipc-tcp.c %.1f ns/roundtrip\n", ns);
}

static void row_mq(void)
{
    char down_name[64], up_name[64];
    snprintf(down_name, sizeof down_name, "/weft-floor-%d-down", (int)getpid());
    snprintf(up_name, sizeof up_name, "/weft-floor-%d-up", (int)getpid());
    struct mq_attr attr = { .mq_maxmsg = 8, .mq_msgsize = MSG };
    mqd_t down = mq_open(down_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
    mqd_t up = mq_open(up_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
    if (down == (mqd_t)-1 || up == (mqd_t)-1) die("mq_open");
    mq_unlink(down_name); // the descriptors keep both queues alive; nothing is left behind if we die
    mq_unlink(up_name);
    char buf[MSG];
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0)
    {
        for (long i = 0; i < WARMUP + rounds; i++)
        {
            if (mq_receive(down, buf, MSG, NULL) != MSG) die("mq_receive");
            if (mq_send(up, buf, MSG, 1) < 0) die("mq_send");
        }
        _exit(0);
    }
    memset(buf, 'p', MSG);
    double start = 0;
    for (long i = 0; i < WARMUP + rounds; i++)
    {
        if (i == WARMUP) start = now_ns();
        if (mq_send(down, buf, MSG, 1) < 0) die("mq_send");
        if (mq_receive(up, buf, MSG, NULL) != MSG) die("mq_receive");
    }
    double ns = (now_ns() - start) / rounds;
    reap(child);
    printf("ipc-mq.c %.1f ns/roundtrip\n", ns);
}

// Closes a and b (once, if they are the same descriptor).
static void close_pair(int a, int b)
{
    close(a);
    if (b != a) close(b);
}

// One way over a stream: the parent writes 64-byte messages on `out`, the child reads them all from `in` and answers
// one byte on `ack_out`, which the parent reads from `ack_in`. Each side first closes the other's ends, so that a
// crash on either side ends the other's reads. Returns messages per second.
static double stream_throughput(int out, int ack_in, int in, int ack_out)
{
    long messages = rounds * 20;
    pid_t child = fork();
    if (child < 0) die("fork");
    char buf[MSG];
    if (child == 0)
    {
        close_pair(out, ack_in);
        for (long i = 0; i < messages; i++) full_read(in, buf, MSG);
        full_write(ack_out, "k", 1);
        _exit(0);
    }
    close_pair(in, ack_out);
    memset(buf, 't', MSG);
    double start = now_ns();
    for (long i = 0; i < messages; i++) full_write(out, buf, MSG);
    full_read(ack_in, buf, 1);
    double seconds = (now_ns() - start) / 1e9;
    reap(child);
    close_pair(out, ack_in);
    return messages / seconds;
}

static void row_unix_throughput(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
    printf("ipc-unix-throughput.c %.0f msgs/s\n", stream_throughput(sv[0], sv[0], sv[1], sv[1]));
}

// The same over two anonymous pipes (part 1's pipe: the yardstick of ipc-shm-throughput).
static void row_pipe_throughput(void)
{
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0) die("pipe2");
    printf("ipc-pipe-throughput.c %.0f msgs/s\n", stream_throughput(down[1], up[0], down[0], up[1]));
}

// ---- shared memory: a bounded MPMC ring (Vyukov's per-slot sequence numbers) in a MAP_SHARED mapping ----------------
// The same protocol as Weft's ShmRing without its crash-recovery states: claim by CAS on tail, copy, commit with a
// release store of the slot's sequence; read by CAS on head, copy out, free with a release store. Waits: a futex word
// and a waiters count per direction (shared futexes: no FUTEX_PRIVATE_FLAG), or, in the spinning rows, a busy loop.

#define RING_CAP 64

struct shm_slot
{
    _Atomic uint64_t seq;
    uint32_t len;
    uint32_t pad;
    char data[MSG];
};

struct shm_ring
{
    _Alignas(64) _Atomic uint64_t tail;
    _Alignas(64) _Atomic uint64_t head;
    _Alignas(64) _Atomic int data_word;
    _Atomic int data_waiters;
    _Alignas(64) _Atomic int space_word;
    _Atomic int space_waiters;
    _Alignas(64) struct shm_slot slots[RING_CAP];
};

static int spin_only;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static struct shm_ring *ring_new(void)
{
    struct shm_ring *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) die("mmap");
    memset(r, 0, sizeof *r);
    for (uint64_t i = 0; i < RING_CAP; i++) atomic_store(&r->slots[i].seq, i);
    return r;
}

static void futex_wait_shared(_Atomic int *word, int expected)
{
    syscall(SYS_futex, word, FUTEX_WAIT, expected, NULL, NULL, 0);
}

static void futex_wake_shared(_Atomic int *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void ring_notify(_Atomic int *word, _Atomic int *waiters)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(waiters, memory_order_relaxed) != 0)
    {
        atomic_fetch_add(word, 1);
        futex_wake_shared(word);
    }
}

static int ring_has_space(struct shm_ring *r)
{
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    return (int64_t)(atomic_load_explicit(&r->slots[t % RING_CAP].seq, memory_order_acquire) - t) >= 0;
}

static int ring_has_data(struct shm_ring *r)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    return atomic_load_explicit(&r->slots[h % RING_CAP].seq, memory_order_acquire) == h + 1;
}

static void ring_wait(struct shm_ring *r, _Atomic int *word, _Atomic int *waiters, int (*ready)(struct shm_ring *))
{
    if (spin_only)
    {
        while (!ready(r)) cpu_relax();
        return;
    }
    atomic_fetch_add(waiters, 1);
    int v = atomic_load(word);
    if (!ready(r)) futex_wait_shared(word, v);
    atomic_fetch_sub(waiters, 1);
}

static void ring_write(struct shm_ring *r, const char *buf)
{
    for (;;)
    {
        uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
        struct shm_slot *s = &r->slots[t % RING_CAP];
        int64_t dif = (int64_t)(atomic_load_explicit(&s->seq, memory_order_acquire) - t);
        if (dif == 0)
        {
            if (!atomic_compare_exchange_weak(&r->tail, &t, t + 1)) continue;
            s->len = MSG;
            memcpy(s->data, buf, MSG);
            atomic_store_explicit(&s->seq, t + 1, memory_order_release);
            ring_notify(&r->data_word, &r->data_waiters);
            return;
        }
        if (dif < 0) ring_wait(r, &r->space_word, &r->space_waiters, ring_has_space);
    }
}

static void ring_read(struct shm_ring *r, char *buf)
{
    for (;;)
    {
        uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
        struct shm_slot *s = &r->slots[h % RING_CAP];
        int64_t dif = (int64_t)(atomic_load_explicit(&s->seq, memory_order_acquire) - (h + 1));
        if (dif == 0)
        {
            if (!atomic_compare_exchange_weak(&r->head, &h, h + 1)) continue;
            memcpy(buf, s->data, s->len);
            atomic_store_explicit(&s->seq, h + RING_CAP, memory_order_release);
            ring_notify(&r->space_word, &r->space_waiters);
            return;
        }
        if (dif < 0) ring_wait(r, &r->data_word, &r->data_waiters, ring_has_data);
    }
}

static void shm_roundtrip(const char *name)
{
    struct shm_ring *down = ring_new(), *up = ring_new();
    pid_t child = fork();
    if (child < 0) die("fork");
    char buf[MSG];
    if (child == 0)
    {
        for (long i = 0; i < WARMUP + rounds; i++)
        {
            ring_read(down, buf);
            ring_write(up, buf);
        }
        _exit(0);
    }
    memset(buf, 'p', MSG);
    double start = 0;
    for (long i = 0; i < WARMUP + rounds; i++)
    {
        if (i == WARMUP) start = now_ns();
        ring_write(down, buf);
        ring_read(up, buf);
    }
    double ns = (now_ns() - start) / rounds;
    reap(child);
    printf("%s.c %.1f ns/roundtrip\n", name, ns);
}

static void row_shm(void)
{
    spin_only = 0;
    shm_roundtrip("ipc-shm");
}

static void row_shm_spin(void)
{
    spin_only = 1;
    shm_roundtrip("ipc-shm-spin");
    spin_only = 0;
}

// One way: the parent writes 64-byte messages into the ring (futex waits when full), the child reads them all and
// answers one message on a second ring.
static void row_shm_throughput(void)
{
    spin_only = 0;
    struct shm_ring *down = ring_new(), *up = ring_new();
    long messages = rounds * 50;
    pid_t child = fork();
    if (child < 0) die("fork");
    char buf[MSG];
    if (child == 0)
    {
        for (long i = 0; i < messages; i++) ring_read(down, buf);
        ring_write(up, buf);
        _exit(0);
    }
    memset(buf, 't', MSG);
    double start = now_ns();
    for (long i = 0; i < messages; i++) ring_write(down, buf);
    ring_read(up, buf);
    double seconds = (now_ns() - start) / 1e9;
    reap(child);
    printf("ipc-shm-throughput.c %.0f msgs/s\n", messages / seconds);
}

// An uncontended acquire and release of a named POSIX semaphore (what IpcSemaphore wraps). The floor of both ipc-sem
// (Weft's Acquire from a thread) and ipc-sem-async (AcquireAsync from a goroutine): C has one way to do it.
static void sem_pairs(const char *row)
{
    char name[64];
    snprintf(name, sizeof name, "/weft-ipcfloor-%d", (int)getpid());
    sem_t *sem = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
    if (sem == SEM_FAILED) die("sem_open");
    sem_unlink(name);
    long n = rounds * 50;
    double start = 0;
    for (long i = 0; i < WARMUP + n; i++)
    {
        if (i == WARMUP) start = now_ns();
        if (sem_wait(sem) != 0) die("sem_wait");
        if (sem_post(sem) != 0) die("sem_post");
    }
    double ns = (now_ns() - start) / n;
    sem_close(sem);
    printf("%s.c %.1f ns/op\n", row, ns);
}

static void row_sem(void)
{
    sem_pairs("ipc-sem");
}

static void row_sem_async(void)
{
    sem_pairs("ipc-sem-async");
}

struct row
{
    const char *name;
    void (*run)(void);
};

static const struct row rows[] = {
    { "ipc-pipe", row_pipe },
    { "ipc-unix", row_unix },
    { "ipc-mq", row_mq },
    { "ipc-tcp", row_tcp },
    { "ipc-unix-throughput", row_unix_throughput },
    { "ipc-pipe-throughput", row_pipe_throughput },
    { "ipc-shm", row_shm },
    { "ipc-shm-spin", row_shm_spin },
    { "ipc-shm-throughput", row_shm_throughput },
    { "ipc-sem", row_sem },
    { "ipc-sem-async", row_sem_async },
};

int main(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && argv[1][0] >= '0' && argv[1][0] <= '9')
    {
        char *end;
        rounds = strtol(argv[1], &end, 10);
        if (*end != '\0' || rounds < 1 || rounds > 100000000)
        {
            fprintf(stderr, "ipcfloor: ROUNDS '%s' is not valid: expected a whole number from 1 to 100000000\n", argv[1]);
            return 2;
        }
        first = 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    size_t n = sizeof rows / sizeof rows[0];
    for (int a = first; a < argc; a++)
    {
        int known = 0;
        for (size_t i = 0; i < n; i++) known |= strcmp(argv[a], rows[i].name) == 0;
        if (!known)
        {
            fprintf(stderr, "ipcfloor: unknown row '%s'; rows: ipc-pipe ipc-unix ipc-mq ipc-tcp ipc-unix-throughput ipc-pipe-throughput ipc-shm ipc-shm-spin ipc-shm-throughput ipc-sem ipc-sem-async\n", argv[a]);
            return 2;
        }
    }
    for (size_t i = 0; i < n; i++)
    {
        int wanted = argc <= first;
        for (int a = first; a < argc; a++) wanted |= strcmp(argv[a], rows[i].name) == 0;
        if (wanted) rows[i].run();
    }
    return 0;
}

/* POSIX threads: a mutex-guarded counter, atomics, a condition-variable ping-pong, a barrier, thread-local
 * storage, pthread_once, join values and a detached thread. Everything printed is independent of scheduling. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long locked_counter;
static atomic_long atomic_counter;
static long cas_counter;
static __thread long mine = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static pthread_barrier_t barrier;
static atomic_int before_barrier, seen_at_barrier[THREADS];

static void init_once(void) {
    once_runs++;
}

static void *worker(void *arg) {
    long id = (long) arg;
    mine = id * 100;
    pthread_once(&once, init_once);
    uint64_t sum = 0;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        locked_counter++;
        pthread_mutex_unlock(&lock);
        atomic_fetch_add(&atomic_counter, 2);
        long old = __atomic_load_n(&cas_counter, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&cas_counter, &old, old + 3, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
        }
        sum += (uint64_t) (i ^ id) * 2654435761u + (uint64_t) id;
    }
    atomic_fetch_add(&before_barrier, 1);
    pthread_barrier_wait(&barrier);
    seen_at_barrier[id] = atomic_load(&before_barrier);
    if (mine != id * 100) {
        return (void *) -1;
    }
    return (void *) (uintptr_t) (sum & 0xFFFFFFFF);
}

/* Two threads take turns through a condition variable: the turn must alternate exactly. */
static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn, trace_errors;
static long handoffs;

static void *player(void *arg) {
    int me = (int) (long) arg;
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&turn_lock);
        while (turn != me) {
            pthread_cond_wait(&turn_changed, &turn_lock);
        }
        if (handoffs % 2 != me) {
            trace_errors++;
        }
        handoffs++;
        turn = 1 - me;
        pthread_cond_broadcast(&turn_changed);
        pthread_mutex_unlock(&turn_lock);
    }
    return NULL;
}

static atomic_int detached_done;

static void *detached(void *arg) {
    (void) arg;
    atomic_store(&detached_done, 1);
    return NULL;
}

int main(void) {
    pthread_t t[THREADS];
    pthread_barrier_init(&barrier, NULL, THREADS);
    mine = 7;
    for (long i = 0; i < THREADS; i++) {
        if (pthread_create(&t[i], NULL, worker, (void *) i) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    for (int i = 0; i < THREADS; i++) {
        void *result;
        pthread_join(t[i], &result);
        printf("worker %d returned %lu, saw %d at the barrier\n", i, (unsigned long) (uintptr_t) result,
               seen_at_barrier[i]);
    }
    printf("locked %ld atomic %ld cas %ld once %d main tls %ld\n", locked_counter, (long) atomic_counter,
           cas_counter, once_runs, mine);

    pthread_t a, b;
    pthread_create(&a, NULL, player, (void *) 0L);
    pthread_create(&b, NULL, player, (void *) 1L);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("handoffs %ld out of turn %d\n", handoffs, trace_errors);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t d;
    pthread_create(&d, &attr, detached, NULL);
    while (!atomic_load(&detached_done)) {
        sched_yield();
    }
    printf("detached thread ran\n");
    return 0;
}

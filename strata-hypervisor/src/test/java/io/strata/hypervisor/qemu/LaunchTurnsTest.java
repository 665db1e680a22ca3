package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LaunchTurnsTest {
    @Test
    void launchesTakeTheirTurnsOneAtATimeInArrivalOrder() throws Exception {
        LaunchTurns turns = new LaunchTurns(1);
        LaunchTurns.Turn first = turns.take();
        List<Integer> order = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(3);
        for (int i = 1; i <= 3; i++) {
            int n = i;
            Thread.ofVirtual().start(() -> {
                LaunchTurns.Turn turn = turns.take();
                order.add(n);
                turn.close();
                done.countDown();
            });
            Thread.sleep(50);   // queued in this order behind the first
        }
        assertThat(order).isEmpty();
        first.end();
        first.end();            // a second end gives nothing back twice
        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(order).containsExactly(1, 2, 3);
        first.close();
        assertThat(turns.take().toString()).startsWith("waited 0 ms for its turn");
    }

    @Test
    void backgroundWorkWaitsForLaunchesToPauseButNotForever() throws Exception {
        LaunchTurns turns = new LaunchTurns(1);
        LaunchTurns.Turn launch = turns.take();
        launch.end();   // its commands are out, but the launch is still in flight
        long began = System.nanoTime();
        turns.awaitQuiet(Duration.ofMillis(50), Duration.ofMillis(300));
        assertThat(Duration.ofNanos(System.nanoTime() - began)).isGreaterThanOrEqualTo(Duration.ofMillis(300));

        Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            launch.close();
        });
        began = System.nanoTime();
        turns.awaitQuiet(Duration.ofMillis(50), Duration.ofSeconds(10));
        Duration waited = Duration.ofNanos(System.nanoTime() - began);
        assertThat(waited).isGreaterThanOrEqualTo(Duration.ofMillis(150)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void withoutTurnsEveryLaunchGoesAtOnce() {
        LaunchTurns turns = new LaunchTurns(0);
        LaunchTurns.Turn a = turns.take();
        LaunchTurns.Turn b = turns.take();
        a.close();
        b.close();
        long began = System.nanoTime();
        turns.awaitQuiet(Duration.ofMillis(10), Duration.ofSeconds(5));
        assertThat(Duration.ofNanos(System.nanoTime() - began)).isLessThan(Duration.ofSeconds(2));
    }
}

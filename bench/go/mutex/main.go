// The Go side of the `mutex` workload: 8 goroutines, each doing 1,250,000 x (lock, increment a shared counter,
// unlock). Prints "mutex.go NS ns/op", the median of 5 runs after one warm-up, like the Weft harness.
// Run: /usr/lib/go-1.19/bin/go run bench/go/mutex/main.go
package main

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

const workers, perWorker = 8, 1_250_000

func run() float64 {
	var mu sync.Mutex
	var wg sync.WaitGroup
	counter := 0
	start := time.Now()
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < perWorker; j++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if counter != workers*perWorker {
		panic(fmt.Sprintf("counter ended at %d", counter))
	}
	return float64(elapsed.Nanoseconds()) / float64(workers*perWorker)
}

func main() {
	run()
	var v []float64
	for i := 0; i < 5; i++ {
		v = append(v, run())
	}
	sort.Float64s(v)
	fmt.Printf("mutex.go %.1f ns/op\n", v[len(v)/2])
}

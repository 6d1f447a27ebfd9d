// The Go 1.19 side of Weft's benchmark suite: the same workloads, the same "NAME VALUE UNIT" lines, so the README
// can put Weft, .NET and Go side by side from one machine. Run: bench/go/run.sh [WORKLOAD...]
// Each figure is the median of 5 runs after one warm-up, as in bench/Weft.Bench.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type workload struct {
	name, unit string
	reps       int
	warm       bool
	run        func() float64
}

func spawn() float64 {
	const n = 1_000_000
	var wg sync.WaitGroup
	wg.Add(n)
	start := time.Now()
	for i := 0; i < n; i++ {
		go func() { wg.Done() }()
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / n
}

func sleepers() float64 {
	const n = 100_000
	var wg sync.WaitGroup
	wg.Add(n)
	start := time.Now()
	for i := 0; i < n; i++ {
		go func() { time.Sleep(10 * time.Millisecond); wg.Done() }()
	}
	wg.Wait()
	return float64(time.Since(start).Microseconds()) / 1000
}

func vmRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "VmRSS:") {
			fields := strings.Fields(line)
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	panic("no VmRSS")
}

func parked() float64 {
	n := 1_000_000
	if v := os.Getenv("WEFT_BENCH_PARKED"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	runtime.GC()
	debug.FreeOSMemory()
	before := vmRSS()
	ch := make(chan int)
	var started sync.WaitGroup
	started.Add(n)
	var finished sync.WaitGroup
	finished.Add(n)
	for i := 0; i < n; i++ {
		go func() { started.Done(); <-ch; finished.Done() }()
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond) // let the last ones reach <-ch
	runtime.GC()
	after := vmRSS()
	close(ch)
	finished.Wait()
	return float64(after-before) / float64(n)
}

func main() {
	all := []workload{
		{"spawn", "ns/goroutine", 5, true, spawn},
		{"sleepers", "ms", 5, true, sleepers},
		{"parked", "bytes/goroutine", 3, false, parked},
	}
	all = append(all, extra...)
	want := map[string]bool{}
	for _, a := range os.Args[1:] {
		want[a] = true
	}
	for _, w := range all {
		if len(want) > 0 && !want[w.name] {
			continue
		}
		if w.warm {
			w.run()
		}
		var vals []float64
		for i := 0; i < w.reps; i++ {
			runtime.GC()
			vals = append(vals, w.run())
		}
		sort.Float64s(vals)
		fmt.Printf("%s.go %.1f %s\n", w.name, vals[len(vals)/2], w.unit)
	}
}

// extra holds workloads defined in other files of this package (channels, sync).
var extra []workload

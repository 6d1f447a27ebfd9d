// The channel workloads of Weft issue 3, in Go, for the ratio figures: same names, same "NAME VALUE UNIT" lines
// (median of 5 runs after one warm-up). Run: /usr/lib/go-1.19/bin/go run ./bench/go/channels [NAME...]
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"
)

func pingpong() float64 {
	const n = 1000000
	ping, pong := make(chan int), make(chan int)
	start := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			v := <-ping
			pong <- v
		}
	}()
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

func pairs() float64 {
	const pairs, n = 64, 50000
	var wg sync.WaitGroup
	start := time.Now()
	for p := 0; p < pairs; p++ {
		ping, pong := make(chan int), make(chan int)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				ping <- i
				<-pong
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				v := <-ping
				pong <- v
			}
		}()
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / (pairs * n)
}

func spsc() float64 {
	const n = 10000000
	ch := make(chan int, 1024)
	start := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			ch <- i
		}
	}()
	for i := 0; i < n; i++ {
		<-ch
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

func mpmc() float64 {
	const n, p = 10000000, 4
	ch := make(chan int, 1024)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < p; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < n/p; j++ {
				ch <- j
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < n/p; j++ {
				<-ch
			}
		}()
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / n
}

func sel() float64 {
	const per, k = 1000000, 4
	var c [k]chan int
	for i := range c {
		c[i] = make(chan int, 16)
	}
	start := time.Now()
	for i := 0; i < k; i++ {
		go func(ch chan int) {
			for j := 0; j < per; j++ {
				ch <- j
			}
		}(c[i])
	}
	for i := 0; i < k*per; i++ {
		select {
		case <-c[0]:
		case <-c[1]:
		case <-c[2]:
		case <-c[3]:
		}
	}
	return float64(time.Since(start).Nanoseconds()) / (k * per)
}

// selpark: a ping-pong where both sides wait in a two-case select (the partner's channel and one nobody sends on).
func selpark() float64 {
	const n = 1000000
	ping, pong := make(chan int), make(chan int)
	start := time.Now()
	go func() {
		never := make(chan int)
		for i := 0; i < n; i++ {
			select {
			case v := <-ping:
				pong <- v
			case <-never:
			}
		}
	}()
	never := make(chan int)
	for i := 0; i < n; i++ {
		ping <- i
		select {
		case <-pong:
		case <-never:
		}
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

func main() {
	all := []struct {
		name, unit string
		f          func() float64
	}{{"pingpong", "ns/roundtrip", pingpong}, {"spsc", "ns/item", spsc}, {"mpmc", "ns/item", mpmc}, {"select", "ns/select", sel}, {"select-park", "ns/roundtrip", selpark}, {"pairs", "ns/roundtrip", pairs}}
	want := map[string]bool{}
	for _, a := range os.Args[1:] {
		want[a] = true
	}
	for _, w := range all {
		if len(want) > 0 && !want[w.name] {
			continue
		}
		w.f()
		var v []float64
		for i := 0; i < 5; i++ {
			runtime.GC()
			v = append(v, w.f())
		}
		sort.Float64s(v)
		fmt.Printf("%s.go %.1f %s\n", w.name, v[2], w.unit)
	}
}

module weft/bench/channels

go 1.19

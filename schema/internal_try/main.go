package main

import (
	"fmt"
	"os"

	"github.com/formaapp/forma/schema"
)

func main() {
	b, _ := os.ReadFile(os.Args[1])
	_, p := schema.Parse(b)
	for _, x := range p {
		fmt.Printf("%s: %s\n", x.Path, x.Message)
	}
	fmt.Println(len(p), "problems")
}

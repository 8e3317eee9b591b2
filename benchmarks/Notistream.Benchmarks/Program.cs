BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Notistream.Benchmarks.PublishBenchmarks).Assembly).Run(args);

print("fips-bench")

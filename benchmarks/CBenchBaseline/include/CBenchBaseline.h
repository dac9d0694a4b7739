int cbench_placeholder(void);

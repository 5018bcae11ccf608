/*
 * replay_main.c - run a libFuzzer harness over its seed corpus without
 * libFuzzer, so gcc builds and CI exercise every harness.
 *
 * usage: replay_NAME DIR|FILE...
 * Each input is copied to an exact-size heap block (so ASan sees reads one
 * past the end) and fed whole, then truncated at up to 64 points, which
 * is where length-field parsers most often go wrong. A harness without a
 * single seed is an error.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Cap on a seed file: corpora are small messages. */
#define REPLAY_MAX_INPUT (16u * 1024u * 1024u)
#define REPLAY_TRUNCATIONS 64u

static unsigned long runs, files;

static void
run_one(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	if (copy == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	if (size)
		memcpy(copy, data, size);
	LLVMFuzzerTestOneInput(copy, size);
	free(copy);
	runs++;
}

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n, step, cut;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	if ((buf = malloc(REPLAY_MAX_INPUT)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	run_one(buf, n);
	step = n / REPLAY_TRUNCATIONS + 1;
	for (cut = 0; cut < n; cut += step)
		run_one(buf, cut);
	free(buf);
	files++;
	return 0;
}

static int
replay_path(const char *path)
{
	struct stat st;
	struct dirent **names = NULL;
	int i, count, r = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	/* Sorted, so a failing run is reproducible by position. */
	count = scandir(path, &names, NULL, alphasort);
	if (count < 0) {
		perror(path);
		return -1;
	}
	for (i = 0; i < count; i++) {
		char full[4096];

		if (names[i]->d_name[0] != '.') {
			snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
			if (replay_path(full) != 0)
				r = -1;
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int
main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (replay_path(argv[i]) != 0)
			return 1;
	if (files == 0) {
		fprintf(stderr, "no seed inputs found: a harness needs a corpus\n");
		return 1;
	}
	printf("replayed %lu files, %lu runs\n", files, runs);
	return 0;
}

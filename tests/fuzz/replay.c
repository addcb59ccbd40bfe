/* SPDX-License-Identifier: MIT */
/*
 * Replays saved inputs through a harness without libFuzzer (built with the normal compiler, so the
 * regression inputs run in every build): replay FILE|DIR... Each file is passed to
 * LLVMFuzzerTestOneInput once; a finding aborts, as under the fuzzer. Exits 77 (skipped) when
 * there is nothing to replay.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
        FILE *f = fopen(path, "re");
        struct stat st;
        if (!f || fstat(fileno(f), &st) < 0) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                if (f)
                        fclose(f);
                return -1;
        }
        uint8_t *buf = malloc(st.st_size ? (size_t) st.st_size : 1);
        if (!buf || fread(buf, 1, (size_t) st.st_size, f) != (size_t) st.st_size) {
                fprintf(stderr, "replay: %s: short read\n", path);
                free(buf);
                fclose(f);
                return -1;
        }
        fclose(f);
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, (size_t) st.st_size);
        LLVMFuzzerTestOneInput(buf, (size_t) st.st_size);
        free(buf);
        return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv) {
        unsigned count = 0;
        int failed = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        failed |= replay_file(argv[i]) < 0;
                        count++;
                        continue;
                }
                struct dirent **list;
                int n = scandir(argv[i], &list, NULL, by_name);
                if (n < 0)
                        return 1;
                for (int k = 0; k < n; k++) {
                        char path[4096];
                        snprintf(path, sizeof(path), "%s/%s", argv[i], list[k]->d_name);
                        /* Dot files (.gitignore, README) are not inputs. */
                        if (list[k]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                                failed |= replay_file(path) < 0;
                                count++;
                        }
                        free(list[k]);
                }
                free(list);
        }
        fprintf(stderr, "replay: %u inputs\n", count);
        if (failed)
                return 1;
        return count == 0 ? 77 : 0;
}

/* Synthesize sentences with a flite voice and print the word and phone timings it used.
 *
 * Usage: flite_align VOICE OUT_DIR < lines of "ID<TAB>TEXT" or "ID<TAB>TEXT<TAB>STRETCH<TAB>F0_MEAN"
 * VOICE is awb, rms or slt. STRETCH (duration_stretch: > 1 is slower) and F0_MEAN (the pitch the
 * voice is moved to, Hz) set the prosody of that line; without them the voice speaks with its
 * own. For each line, writes OUT_DIR/ID.wav (16 kHz, 16-bit PCM) and prints
 *   U ID NUM_SAMPLES SAMPLE_RATE
 *   P NAME START END      (every segment, pauses included, seconds)
 *   W NAME START END      (every word: start of its first segment, end of its last, seconds)
 *   E
 * Build: gcc -O2 -o flite_align flite_align.c -I/usr/include/flite -lflite_cmu_us_awb \
 *        -lflite_cmu_us_rms -lflite_cmu_us_slt -lflite_usenglish -lflite_cmulex -lflite -lm
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <flite/flite.h>

cst_voice *register_cmu_us_awb(const char *voxdir);
cst_voice *register_cmu_us_rms(const char *voxdir);
cst_voice *register_cmu_us_slt(const char *voxdir);

static float segment_start(const cst_item *segment)
{
    const cst_item *prev = item_prev(segment);
    return prev ? item_feat_float(prev, "end") : 0.0f;
}

static void print_word(const cst_item *word)
{
    const cst_item *structure = item_as(word, "SylStructure");
    const cst_item *first_syl = structure ? item_daughter(structure) : NULL;
    const cst_item *last_syl = structure ? item_last_daughter(structure) : NULL;
    if (first_syl == NULL || item_daughter(first_syl) == NULL) {
        printf("W %s -1 -1\n", item_feat_string(word, "name"));
        return;
    }
    const cst_item *first = item_as(item_daughter(first_syl), "Segment");
    const cst_item *last = item_as(item_last_daughter(last_syl), "Segment");
    printf("W %s %.6f %.6f\n", item_feat_string(word, "name"), segment_start(first),
           item_feat_float(last, "end"));
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s awb|rms|slt OUT_DIR < ID<TAB>TEXT lines\n", argv[0]);
        return 2;
    }
    flite_init();
    cst_voice *voice = NULL;
    if (strcmp(argv[1], "awb") == 0) voice = register_cmu_us_awb(NULL);
    else if (strcmp(argv[1], "rms") == 0) voice = register_cmu_us_rms(NULL);
    else if (strcmp(argv[1], "slt") == 0) voice = register_cmu_us_slt(NULL);
    if (voice == NULL) {
        fprintf(stderr, "unknown voice '%s' (expected awb, rms or slt)\n", argv[1]);
        return 2;
    }
    /* the voice's own prosody, put back for lines that do not set theirs */
    const int own_f0 = feat_present(voice->features, "int_f0_target_mean");
    const float own_f0_mean = get_param_float(voice->features, "int_f0_target_mean", 0.0);
    const float own_stretch = get_param_float(voice->features, "duration_stretch", 1.0);
    char line[8192], path[16384];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *tab = strchr(line, '\t');
        if (tab == NULL) {
            fprintf(stderr, "line without a tab: %s\n", line);
            return 1;
        }
        *tab = '\0';
        char *text = tab + 1, *stretch = strchr(text, '\t'), *f0_mean = NULL;
        if (stretch != NULL) {
            *stretch++ = '\0';
            f0_mean = strchr(stretch, '\t');
            if (f0_mean == NULL) {
                fprintf(stderr, "line with a stretch but no F0 mean: %s\n", line);
                return 1;
            }
            *f0_mean++ = '\0';
            feat_set_float(voice->features, "duration_stretch", (float)atof(stretch));
            feat_set_float(voice->features, "int_f0_target_mean", (float)atof(f0_mean));
        } else {
            feat_set_float(voice->features, "duration_stretch", own_stretch);
            if (own_f0) feat_set_float(voice->features, "int_f0_target_mean", own_f0_mean);
            else feat_remove(voice->features, "int_f0_target_mean");
        }
        cst_utterance *utt = flite_synth_text(text, voice);
        cst_wave *wave = utt_wave(utt);
        snprintf(path, sizeof path, "%s/%s.wav", argv[2], line);
        if (cst_wave_save_riff(wave, path) != CST_OK_FORMAT) {
            fprintf(stderr, "cannot write %s\n", path);
            return 1;
        }
        printf("U %s %d %d\n", line, cst_wave_num_samples(wave), cst_wave_sample_rate(wave));
        for (cst_item *s = utt_rel_head(utt, "Segment"); s; s = item_next(s))
            printf("P %s %.6f %.6f\n", item_feat_string(s, "name"), segment_start(s),
                   item_feat_float(s, "end"));
        for (cst_item *w = utt_rel_head(utt, "Word"); w; w = item_next(w))
            print_word(w);
        printf("E\n");
        fflush(stdout);
        delete_utterance(utt);
    }
    return 0;
}

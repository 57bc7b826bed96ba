#include "x86/cpu_state.h"

#include "hw/guest_mem.h"
#include "x86/paging.h"

static void print_seg(FILE *out, const char *name, const struct vs_segment *s)
{
	fprintf(out, "%-3s sel=%04x base=%016llx limit=%08x type=%x p=%u dpl=%u db=%u s=%u l=%u g=%u\n", name,
		s->selector, (unsigned long long)s->base, s->limit, s->type, s->present, s->dpl, s->db, s->s,
		s->l, s->g);
}

void vs_cpu_state_print(const struct vs_cpu_state *s, FILE *out)
{
	fprintf(out, "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n", (unsigned long long)s->rax,
		(unsigned long long)s->rbx, (unsigned long long)s->rcx, (unsigned long long)s->rdx);
	fprintf(out, "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n", (unsigned long long)s->rsi,
		(unsigned long long)s->rdi, (unsigned long long)s->rbp, (unsigned long long)s->rsp);
	fprintf(out, "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n", (unsigned long long)s->r8,
		(unsigned long long)s->r9, (unsigned long long)s->r10, (unsigned long long)s->r11);
	fprintf(out, "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n", (unsigned long long)s->r12,
		(unsigned long long)s->r13, (unsigned long long)s->r14, (unsigned long long)s->r15);
	fprintf(out, "RIP=%016llx RFLAGS=%08llx\n", (unsigned long long)s->rip,
		(unsigned long long)s->rflags);
	print_seg(out, "CS", &s->cs);
	print_seg(out, "SS", &s->ss);
	print_seg(out, "DS", &s->ds);
	print_seg(out, "TR", &s->tr);
	fprintf(out, "GDT=%016llx/%04x IDT=%016llx/%04x\n", (unsigned long long)s->gdt.base, s->gdt.limit,
		(unsigned long long)s->idt.base, s->idt.limit);
	fprintf(out, "CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx EFER=%016llx\n",
		(unsigned long long)s->cr0, (unsigned long long)s->cr2, (unsigned long long)s->cr3,
		(unsigned long long)s->cr4, (unsigned long long)s->efer);
}

void vs_cpu_state_report(const struct vs_cpu_state *s, const struct vs_guest_mem *mem, FILE *out)
{
	const uint8_t *code;
	uint64_t gpa;
	vs_cpu_state_print(s, out);
	if (vs_x86_rip_to_gpa(mem, s, &gpa) && (code = vs_gpa_ptr(mem, gpa, 16))) {
		fprintf(out, "code at RIP (guest-physical 0x%llx):", (unsigned long long)gpa);
		for (int i = 0; i < 16; i++)
			fprintf(out, " %02x", code[i]);
		fprintf(out, "\n");
	} else {
		fprintf(out, "code at RIP: not in guest RAM\n");
	}
}
